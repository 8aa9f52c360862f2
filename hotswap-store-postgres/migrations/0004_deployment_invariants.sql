-- The invariants several control-plane replicas must not break between
-- them, held by the database rather than by a lock in one process:
--
-- 1. At most one deployment of a module is open (pending, progressing or
--    paused): a partial unique index. Of two creations from two replicas,
--    the second to commit is refused.
-- 2. The versions a module's latest deployment holds (the versions an
--    open deployment may route to; the version a finished one left
--    serving) are rows of `deployment_holds` that reference the version's
--    row in `wasm_modules`. Deleting a held version violates the foreign
--    key, and a deployment of a version deleted meanwhile cannot store its
--    holds: whichever commits second is refused, never both taken.

CREATE UNIQUE INDEX deployments_one_open ON deployments (module)
    WHERE phase IN ('pending', 'progressing', 'paused');

CREATE TABLE deployment_holds (
    module        TEXT COLLATE "C" NOT NULL,
    version       TEXT COLLATE "C" NOT NULL,
    deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    PRIMARY KEY (module, version),
    FOREIGN KEY (module, version) REFERENCES wasm_modules (name, version)
);
CREATE INDEX deployment_holds_deployment ON deployment_holds (deployment_id);

-- What each module's latest deployment holds today.
WITH latest AS (
    SELECT DISTINCT ON (module) id, module, phase, doc::jsonb AS j
    FROM deployments ORDER BY module, id DESC
), held AS (
    SELECT id, module, j ->> 'to_version' AS version FROM latest
        WHERE phase IN ('pending', 'progressing', 'paused', 'succeeded')
    UNION
    SELECT id, module, j ->> 'from_version' FROM latest
        WHERE phase <> 'succeeded' AND j ->> 'from_version' IS NOT NULL
    UNION
    SELECT latest.id, latest.module, v ->> 'version' FROM latest,
        jsonb_array_elements(CASE WHEN j -> 'strategy' ->> 'type' = 'ab_test'
            THEN j -> 'strategy' -> 'variants' ELSE '[]'::jsonb END) AS v
        WHERE phase IN ('pending', 'progressing', 'paused')
)
INSERT INTO deployment_holds (module, version, deployment_id)
SELECT module, version, id FROM held h
WHERE EXISTS (SELECT 1 FROM wasm_modules m WHERE m.name = h.module AND m.version = h.version);
