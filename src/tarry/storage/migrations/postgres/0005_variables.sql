-- Variables: named JSON values shared by flows (`tarry.variables.Variable`).
CREATE TABLE variables (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
