"""`socialcredit serve`: a scheme run live for real people, explainable, contestable and durable."""
