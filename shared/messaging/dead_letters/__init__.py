"""Dead letters an Admin can work with, in every consuming service: list and inspect them, replay them to the
consumer that failed, or discard them with a reason; each action audited (`<service>.dead_letter.events`).

`endpoints.py` (HTTP, mounted by `shared.app.create_service_app` when a service has consumers) calls
`service.py` (the rules and transactions), which calls `repository.py` (every query).
"""
