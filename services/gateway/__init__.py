"""Gateway: receives the Official Account's webhook pushes and publishes them to Kafka."""
