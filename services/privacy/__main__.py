from services.privacy.app import create_app
from services.privacy.settings import PrivacySettings
from shared.runner import serve

settings = PrivacySettings()
serve(create_app(settings), settings)
