"""Companies and institutions with their contacts, shared by the expo and the investment leads."""
