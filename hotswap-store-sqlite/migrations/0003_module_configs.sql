-- Revisions of each module's configuration. A revision never changes;
-- the primary key holds "one revision N per module", so of two changes
-- made from one revision only one lands. Secrets inside `doc` are sealed
-- (XChaCha20-Poly1305 with the operator's key): no clear secret is stored.

CREATE TABLE module_configs (
    module   TEXT NOT NULL,
    revision INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (module, revision)
);
