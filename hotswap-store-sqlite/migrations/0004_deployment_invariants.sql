-- The invariants the control plane must not break, held by the database
-- (see the PostgreSQL migration of the same name): at most one open
-- deployment per module (a partial unique index), and the versions a
-- module's latest deployment holds reference their rows in `wasm_modules`,
-- so a held version cannot be deleted and a deleted one cannot be held.

CREATE UNIQUE INDEX deployments_one_open ON deployments (module)
    WHERE phase IN ('pending', 'progressing', 'paused');

CREATE TABLE deployment_holds (
    module        TEXT NOT NULL,
    version       TEXT NOT NULL,
    deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    PRIMARY KEY (module, version),
    FOREIGN KEY (module, version) REFERENCES wasm_modules (name, version)
);
CREATE INDEX deployment_holds_deployment ON deployment_holds (deployment_id);

-- What each module's latest deployment holds today.
WITH latest AS (
    SELECT d.id, d.module, d.phase, d.doc AS j FROM deployments d
    WHERE d.id = (SELECT MAX(e.id) FROM deployments e WHERE e.module = d.module)
), held AS (
    SELECT id, module, json_extract(j, '$.to_version') AS version FROM latest
        WHERE phase IN ('pending', 'progressing', 'paused', 'succeeded')
    UNION
    SELECT id, module, json_extract(j, '$.from_version') FROM latest
        WHERE phase <> 'succeeded' AND json_extract(j, '$.from_version') IS NOT NULL
    UNION
    SELECT latest.id, latest.module, json_extract(v.value, '$.version') FROM latest,
        json_each(CASE WHEN json_extract(j, '$.strategy.type') = 'ab_test'
            THEN json_extract(j, '$.strategy.variants') ELSE '[]' END) AS v
        WHERE phase IN ('pending', 'progressing', 'paused')
)
INSERT INTO deployment_holds (module, version, deployment_id)
SELECT module, version, id FROM held h
WHERE EXISTS (SELECT 1 FROM wasm_modules m WHERE m.name = h.module AND m.version = h.version);
