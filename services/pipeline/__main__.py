from services.pipeline.app import create_app
from services.pipeline.settings import PipelineSettings
from shared.runner import serve

settings = PipelineSettings()
serve(create_app(settings), settings)
