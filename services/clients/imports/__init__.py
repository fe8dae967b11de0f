"""Imports of clients and contracts from spreadsheets: a dry run's row-by-row report, then a resumable commit
through the owning services' normal paths (see README "Imports")."""
