-- Each module's deployment policy per environment: what its deployments
-- take when their creation leaves it unset.

CREATE TABLE deployment_policies (
    module      TEXT NOT NULL,
    environment TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (module, environment)
);
