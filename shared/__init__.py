"""Code every InsureOps service shares: settings, database, messaging, auth, errors, observability, clock."""
