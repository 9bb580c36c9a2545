"""Publication : rapports aux auteurs, carnets papermill, tableau de bord des élus."""
