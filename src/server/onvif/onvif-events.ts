/**
 * The Events service of a camera's ONVIF face: PullPoint subscriptions (CreatePullPointSubscription, then
 * PullMessages, Renew and Unsubscribe on the subscription's own address), the topic set, and the
 * notification messages, written from templates.
 */
import { childOf, textOf, type XmlObject, xml } from "../../protocol/soap.ts";
import { parseDuration, parseTermination } from "../../protocol/xml-duration.ts";
import { OnvifFault } from "./onvif-device.ts";
import type { OnvifNotification, PullPoints } from "./pull-points.ts";

/** Where a subscription is reached: `/onvif/subscription/<id>`. */
export const SUBSCRIPTION_PREFIX = "/onvif/subscription/";

export interface EventsCaller {
  camera: string;
  user: string;
  /** `http://host:port` of the face. */
  base: string;
  signal: AbortSignal;
}

const topicDialect = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";

function notificationXml(message: OnvifNotification): string {
  return `<wsnt:NotificationMessage><wsnt:Topic Dialect="${topicDialect}">${xml(message.topic)}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="${xml(message.utcTime)}" PropertyOperation="${message.operation}"><tt:Source><tt:SimpleItem Name="${xml(message.source[0])}" Value="${xml(message.source[1])}"/></tt:Source><tt:Data><tt:SimpleItem Name="${xml(message.data[0])}" Value="${xml(message.data[1])}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
}

/** CurrentTime and TerminationTime, in the namespace of the response (`wsnt` or `tev`). */
const times = (expiresAt: number, prefix = "wsnt") =>
  `<${prefix}:CurrentTime>${new Date().toISOString()}</${prefix}:CurrentTime><${prefix}:TerminationTime>${new Date(expiresAt).toISOString()}</${prefix}:TerminationTime>`;

function lifeOf(body: XmlObject, element: string): number | undefined {
  const text = textOf(childOf(body, element));
  if (text === undefined || text === "") return undefined;
  const ms = parseTermination(text, Date.now());
  if (ms === undefined)
    throw new OnvifFault(
      "ter:InvalidArgVal/ter:InvalidTerminationTime",
      `"${text}" is not a termination time`,
    );
  return ms;
}

const description = (source: string, item: string) =>
  `<tt:MessageDescription IsProperty="true"><tt:Source><tt:SimpleItemDescription Name="${source}" Type="tt:ReferenceToken"/></tt:Source><tt:Data><tt:SimpleItemDescription Name="${item}" Type="xs:boolean"/></tt:Data></tt:MessageDescription>`;

/** The topic set of TOPICS, nested as WS-Topics writes it (GetEventProperties). */
const TOPIC_SET = `<tns1:VideoSource><MotionAlarm wstop:topic="true">${description("Source", "State")}</MotionAlarm><GlobalSceneChange><ImagingService wstop:topic="true">${description("Source", "State")}</ImagingService></GlobalSceneChange><SignalLoss wstop:topic="true">${description("Source", "State")}</SignalLoss></tns1:VideoSource><tns1:Device><Trigger><DigitalInput wstop:topic="true">${description("InputToken", "LogicalState")}</DigitalInput></Trigger></tns1:Device>`;

export function eventsOperation(
  pullPoints: PullPoints,
  caller: EventsCaller,
  operation: string,
  body: XmlObject,
): string {
  switch (operation) {
    case "GetServiceCapabilities":
      return `<tev:GetServiceCapabilitiesResponse><tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="0" MaxPullPoints="16" PersistentNotificationStorage="false"/></tev:GetServiceCapabilitiesResponse>`;
    case "GetEventProperties":
      return `<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation><wsnt:FixedTopicSet>true</wsnt:FixedTopicSet><wstop:TopicSet xmlns:wstop="http://docs.oasis-open.org/wsn/t-1" xmlns:xs="http://www.w3.org/2001/XMLSchema">${TOPIC_SET}</wstop:TopicSet><wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect><wsnt:TopicExpressionDialect>http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete</wsnt:TopicExpressionDialect><tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect><tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation></tev:GetEventPropertiesResponse>`;
    case "CreatePullPointSubscription": {
      const { id, expiresAt } = pullPoints.create(
        caller.camera,
        caller.user,
        lifeOf(body, "InitialTerminationTime"),
      );
      return `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${xml(`${caller.base}${SUBSCRIPTION_PREFIX}${id}`)}</wsa:Address></tev:SubscriptionReference>${times(expiresAt)}</tev:CreatePullPointSubscriptionResponse>`;
    }
    default:
      throw new OnvifFault("ter:ActionNotSupported", `camgate's ONVIF face does not do ${operation}`);
  }
}

/** What a subscription's address answers. */
export async function subscriptionOperation(
  pullPoints: PullPoints,
  caller: EventsCaller,
  id: string,
  operation: string,
  body: XmlObject,
): Promise<string> {
  switch (operation) {
    case "PullMessages": {
      const timeoutText = textOf(childOf(body, "Timeout")) ?? "PT0S";
      const timeoutMs = parseDuration(timeoutText);
      if (timeoutMs === undefined)
        throw new OnvifFault("ter:InvalidArgVal/ter:InvalidTimeout", `"${timeoutText}" is not a duration`);
      const limit = Number(textOf(childOf(body, "MessageLimit")) ?? "10");
      const { messages, expiresAt } = await pullPoints.pull(
        id,
        caller.camera,
        caller.user,
        timeoutMs,
        Number.isInteger(limit) ? limit : 10,
        caller.signal,
      );
      return `<tev:PullMessagesResponse>${times(expiresAt, "tev")}${messages.map(notificationXml).join("")}</tev:PullMessagesResponse>`;
    }
    case "Renew": {
      const expiresAt = pullPoints.renew(id, caller.camera, caller.user, lifeOf(body, "TerminationTime"));
      return `<wsnt:RenewResponse><wsnt:TerminationTime>${new Date(expiresAt).toISOString()}</wsnt:TerminationTime><wsnt:CurrentTime>${new Date().toISOString()}</wsnt:CurrentTime></wsnt:RenewResponse>`;
    }
    case "Unsubscribe":
      pullPoints.cancel(id, caller.camera, caller.user);
      return "<wsnt:UnsubscribeResponse/>";
    case "SetSynchronizationPoint":
      return "<tev:SetSynchronizationPointResponse/>";
    default:
      throw new OnvifFault("ter:ActionNotSupported", `a subscription does not do ${operation}`);
  }
}
