-- HTTP routes: a host and path prefix to a module. The unique place is the
-- database's to hold, so concurrent creates at one place cannot both win.
-- Every change bumps the single revision row in the same transaction.

CREATE TABLE http_routes (
    id          TEXT COLLATE "C" PRIMARY KEY,
    host        TEXT COLLATE "C" NOT NULL,
    path_prefix TEXT COLLATE "C" NOT NULL,
    module      TEXT COLLATE "C" NOT NULL,
    doc         TEXT NOT NULL,
    UNIQUE (host, path_prefix)
);
CREATE INDEX http_routes_module ON http_routes (module);

CREATE TABLE http_route_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO http_route_revision (id, revision) VALUES (1, 0);
