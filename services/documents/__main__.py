from services.documents.app import create_app
from services.documents.settings import DocumentsSettings
from shared.runner import serve

settings = DocumentsSettings()
serve(create_app(settings), settings)
