/**
 * The retained Home Assistant discovery topics camgate published last (`mqtt_discovery_topics`): after a
 * camera is removed or stops reporting a code, its configs are cleared (an empty retained message) instead
 * of leaving entities in HA that nothing updates.
 */
import type { Db } from "./database.ts";

export interface DiscoveryTopics {
  list(): string[];
  replace(topics: readonly string[]): void;
}

export function discoveryTopics(db: Db): DiscoveryTopics {
  const select = db.prepare("SELECT topic FROM mqtt_discovery_topics ORDER BY topic");
  const clear = db.prepare("DELETE FROM mqtt_discovery_topics");
  const insert = db.prepare("INSERT INTO mqtt_discovery_topics (topic) VALUES (?)");
  return {
    list: () => (select.all() as { topic: string }[]).map((row) => row.topic),
    replace: db.transaction((topics: readonly string[]) => {
      clear.run();
      for (const topic of topics) insert.run(topic);
    }),
  };
}
