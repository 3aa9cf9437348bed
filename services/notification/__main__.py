from services.notification.app import make_app
from services.notification.settings import NotificationSettings
from shared.runner import run_service

if __name__ == "__main__":
    run_service(make_app, NotificationSettings())
