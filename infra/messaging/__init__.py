"""Kafka: the relay that publishes committed events, the broker (embedded Tansu or configured Kafka) and
the message contract (CloudEvents headers, topics keyed by case id).
"""
