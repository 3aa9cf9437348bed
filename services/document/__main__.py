from services.document.app import make_app
from services.document.settings import DocumentSettings
from shared.runner import run_service

if __name__ == "__main__":
    run_service(make_app, DocumentSettings())
