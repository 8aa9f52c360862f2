-- HTTP routes: a host and path prefix to a module. The unique place is the
-- database's to hold, so concurrent creates at one place cannot both win.
-- Every change bumps the single revision row in the same transaction.

CREATE TABLE http_routes (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    path_prefix TEXT NOT NULL,
    module      TEXT NOT NULL,
    doc         TEXT NOT NULL,
    UNIQUE (host, path_prefix)
);
CREATE INDEX http_routes_module ON http_routes (module);

CREATE TABLE http_route_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO http_route_revision (id, revision) VALUES (1, 0);
