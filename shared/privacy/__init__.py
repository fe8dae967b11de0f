"""Crypto-shredding of personal data: per-subject keys (kept by the privacy service), field encryption of the
personal fields of events (`fields`), and the key providers services get keys from (`keys`); and each service's part of the data subjects' rights:
what it does on `privacy.subject.erased` and its Art. 15 export part (`rights`)."""
