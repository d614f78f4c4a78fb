from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events import Topic
from shared.messaging._exceptions import MessagingError, TopicMismatch


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[Topic], *, prefix: str = "", replication_factor: int = 1
) -> list[str]:
    """Create every declared topic that does not exist yet; return the names created.

    Topics are never left to auto-creation: the local broker would give them 4 partitions, which breaks
    per-key ordering guarantees the declarations rely on. An existing topic with a different partition
    count is reported, not silently altered.
    """
    wanted = {topic.physical_name(prefix): topic for topic in topics}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="scrm-admin")
    try:
        await admin.start()
    except KafkaError as exc:
        await admin.close()
        raise MessagingError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=name,
                num_partitions=topic.partitions,
                replication_factor=replication_factor,
                topic_configs={"retention.ms": str(topic.retention_ms)},
            )
            for name, topic in wanted.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in getattr(response, "topic_errors", ()):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise MessagingError(f"creating topic {name} failed with error code {code}")
        present = [name for name in wanted if name in existing]
        if present:
            for meta in await admin.describe_topics(present):
                declared = wanted[meta["topic"]].partitions
                actual = len(meta["partitions"])
                if actual != declared:
                    raise TopicMismatch(
                        f"topic {meta['topic']} has {actual} partitions, the registry declares {declared}"
                    )
        return [t.name for t in missing]
    finally:
        await admin.close()
