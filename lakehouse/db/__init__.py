"""The source database: the private local PostgreSQL cluster and checks on any server."""
