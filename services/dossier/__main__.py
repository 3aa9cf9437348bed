from services.dossier.app import make_app
from services.dossier.settings import DossierSettings
from shared.runner import run_service

if __name__ == "__main__":
    run_service(make_app, DossierSettings())
