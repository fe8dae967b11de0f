from services.tasks.app import create_app
from services.tasks.settings import TasksSettings
from shared.runner import serve

settings = TasksSettings()
serve(create_app(settings), settings)
