from services.identity.app import make_app
from services.identity.settings import IdentitySettings
from shared.runner import run_service

if __name__ == "__main__":
    run_service(make_app, IdentitySettings())
