from services.clients.app import create_app
from services.clients.settings import ClientsSettings
from shared.runner import serve

settings = ClientsSettings()
serve(create_app(settings), settings)
