from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.runner import serve

settings = AuditSettings()
serve(create_app(settings), settings)
