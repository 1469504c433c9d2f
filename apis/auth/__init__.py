"""auth: accounts, passwords, roles and tokens (RS256 JWT, JWKS). The only service that sees a password."""
