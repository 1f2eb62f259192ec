-- The Prefect server keeps its state in its own database on the same PostgreSQL.
CREATE DATABASE prefect OWNER gkflow;
