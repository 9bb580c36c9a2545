"""Atelier bilans : des bilans d'activité aux tables curées, contrôlées et publiées."""
