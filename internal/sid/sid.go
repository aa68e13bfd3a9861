// Package sid makes and checks Twilio-style identifiers: a two-letter prefix
// followed by 32 lowercase hex digits.
package sid

import (
	"crypto/rand"
	"encoding/hex"
)

// Prefixes of the identifiers Switchboard issues.
const (
	Account             = "AC"
	APIKey              = "SK"
	Service             = "IS"
	Conversation        = "CH"
	Participant         = "MB"
	Message             = "IM"
	DeliveryReceipt     = "DY"
	User                = "US"
	Role                = "RL"
	ConversationWebhook = "WH"
	AddressConfig       = "IG"
	Media               = "ME"
	StudioFlow          = "FW"
	MessagingService    = "MG"
	ContentTemplate     = "HX"
	// Switchboard's own: carrier accounts and outbound deliveries (Twilio
	// has no such resources).
	ChannelProvider = "PA"
	ChannelDelivery = "OD"
	// Webchat deployments: Twilio keeps the equivalent in its console.
	WebchatDeployment = "WD"
	// Members of staff who sign in to the desktop (Flex keeps them in its
	// console and the company's identity provider).
	StaffUser = "SU"

	Workspace     = "WS"
	Worker        = "WK"
	Activity      = "WA"
	TaskQueue     = "WQ"
	Workflow      = "WW"
	Task          = "WT"
	Reservation   = "WR"
	TaskChannel   = "TC"
	WorkerChannel = "WC"
	Event         = "EV"

	Interaction            = "KD"
	InteractionChannel     = "UO"
	InteractionParticipant = "UT"
	InteractionInvite      = "KG"
	InteractionTransfer    = "UX"
)

// New returns a fresh identifier with the given two-letter prefix.
func New(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("sid: crypto/rand failed: " + err.Error()) // the OS has no entropy: nothing sane to do
	}
	return prefix + hex.EncodeToString(b[:])
}

// Is reports whether s is a well-formed identifier with the given prefix.
// Twilio accepts upper- or lowercase hex in paths, so we do too.
func Is(s, prefix string) bool {
	if len(s) != 34 || s[:2] != prefix {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Looks reports whether s has the shape of any identifier (two uppercase
// letters and 32 hex digits), which decides whether a path segment is a SID or
// a natural key such as a unique name.
func Looks(s string) bool {
	return len(s) == 34 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && Is(s, s[:2])
}
