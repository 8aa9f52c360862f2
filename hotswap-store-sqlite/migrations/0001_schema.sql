-- Each table keeps the entity's JSON document (`doc`) beside the columns
-- its queries filter, sort and constrain on. Text compares bytewise
-- (SQLite's BINARY collation), the order the cursors use.

CREATE TABLE wasm_modules (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    version TEXT NOT NULL,
    kind    TEXT NOT NULL,
    digest  TEXT NOT NULL,
    labels  TEXT NOT NULL,
    doc     TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX wasm_modules_name_id ON wasm_modules (name, id);
CREATE INDEX wasm_modules_digest ON wasm_modules (digest);

CREATE TABLE edge_nodes (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    region   TEXT NOT NULL,
    status   TEXT NOT NULL,
    revision INTEGER NOT NULL,
    labels   TEXT NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX edge_nodes_region_status ON edge_nodes (region, status);
CREATE INDEX edge_nodes_status ON edge_nodes (status);

CREATE TABLE deployments (
    id               TEXT PRIMARY KEY,
    module           TEXT NOT NULL,
    phase            TEXT NOT NULL,
    environment      TEXT NOT NULL,
    revision         INTEGER NOT NULL,
    doc              TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_us INTEGER
);
CREATE INDEX deployments_phase ON deployments (phase, id);
CREATE INDEX deployments_module ON deployments (module, id);

CREATE TABLE deployment_events (
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

CREATE TABLE wasi_interfaces (
    id       TEXT PRIMARY KEY,
    package  TEXT NOT NULL,
    version  TEXT NOT NULL,
    approved INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    UNIQUE (package, version)
);
CREATE INDEX wasi_interfaces_package_id ON wasi_interfaces (package, id);

CREATE TABLE interface_packages (
    package TEXT PRIMARY KEY,
    mode    TEXT NOT NULL
);
