"""Pure domain of Segmento: standard library only."""
