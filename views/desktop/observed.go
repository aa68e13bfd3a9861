package desktop

import "github.com/switchboardhq/switchboard/interactions/desk"

// What a supervisor's monitor page shares with the desktop: it shows a
// thread with the same bubbles, so its pushes (Appended, Bubble, Removed,
// TypingLine) must find the same element IDs, and its reassign picker
// describes agents and queues as the transfer dialog does.

// ThreadID is the ID of a conversation's thread list.
func ThreadID(conversationSid string) string { return threadID(conversationSid) }

// TypingID is the ID of a conversation's typing line.
func TypingID(conversationSid string) string { return typingID(conversationSid) }

// AgentDetail says where an agent stands for a task on channel: their
// activity and free capacity, or why they cannot take it.
func AgentDetail(a desk.TransferAgent, channel string) string { return agentDetail(a, channel) }

// QueueDetail says how busy a queue is.
func QueueDetail(q desk.TransferQueue) string { return queueDetail(q) }
