from services.contracts.app import create_app
from services.contracts.settings import ContractsSettings
from shared.runner import serve

settings = ContractsSettings()
serve(create_app(settings), settings)
