-- Each table keeps the entity's JSON document (`doc`) beside the columns
-- its queries filter, sort and constrain on. Text compares bytewise
-- (COLLATE "C"), the order the cursors use, whatever the database's
-- locale. Times are microseconds since the epoch.

CREATE TABLE wasm_modules (
    id      TEXT COLLATE "C" PRIMARY KEY,
    name    TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    kind    TEXT COLLATE "C" NOT NULL,
    digest  TEXT COLLATE "C" NOT NULL,
    labels  TEXT NOT NULL,
    doc     TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX wasm_modules_name_id ON wasm_modules (name, id);
CREATE INDEX wasm_modules_digest ON wasm_modules (digest);

CREATE TABLE edge_nodes (
    id       TEXT COLLATE "C" PRIMARY KEY,
    name     TEXT COLLATE "C" NOT NULL UNIQUE,
    region   TEXT COLLATE "C" NOT NULL,
    status   TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    labels   TEXT NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX edge_nodes_region_status ON edge_nodes (region, status);
CREATE INDEX edge_nodes_status ON edge_nodes (status);

CREATE TABLE deployments (
    id               TEXT COLLATE "C" PRIMARY KEY,
    module           TEXT COLLATE "C" NOT NULL,
    phase            TEXT COLLATE "C" NOT NULL,
    environment      TEXT COLLATE "C" NOT NULL,
    revision         BIGINT NOT NULL,
    doc              TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_us BIGINT
);
CREATE INDEX deployments_phase ON deployments (phase, id);
CREATE INDEX deployments_module ON deployments (module, id);

CREATE TABLE deployment_events (
    deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

CREATE TABLE wasi_interfaces (
    id       TEXT COLLATE "C" PRIMARY KEY,
    package  TEXT COLLATE "C" NOT NULL,
    version  TEXT COLLATE "C" NOT NULL,
    approved BIGINT NOT NULL,
    doc      TEXT NOT NULL,
    UNIQUE (package, version)
);
CREATE INDEX wasi_interfaces_package_id ON wasi_interfaces (package, id);

CREATE TABLE interface_packages (
    package TEXT COLLATE "C" PRIMARY KEY,
    mode    TEXT NOT NULL
);
