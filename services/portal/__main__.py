from services.portal.app import make_app
from services.portal.settings import PortalSettings
from shared.runner import run_service

if __name__ == "__main__":
    run_service(make_app, PortalSettings())
