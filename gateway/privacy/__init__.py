"""The shopper's data rights and retention: how long a case is kept, a contact's export and
erasure, and the audit trail of both (README "Retention and data rights")."""
