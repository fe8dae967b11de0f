"""Local read models a service keeps of another service's aggregates, built only from their events.

Services never read each other's databases; a service that needs to know, say, which users are
active in a department keeps its own replica, fed by the owner's events through its idempotent
consumer.
"""
