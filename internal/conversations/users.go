package conversations

import (
	"time"

	"gorm.io/gorm/clause"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// User (US…) is a chat identity in a service.
type User struct {
	Sid          string `gorm:"primaryKey"`
	ServiceSid   string
	Identity     string
	FriendlyName string
	Attributes   string
	RoleSid      string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// ensureUser creates the service's user for identity if it does not exist,
// as Twilio does when a chat participant joins.
func (e *Engine) ensureUser(tx *db.Tx, serviceSid, identity string) error {
	var svc Service
	if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
		return err
	}
	now := e.now()
	// DO NOTHING: the user may exist already, or be created by a concurrent join.
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&User{Sid: sid.New(sid.User), ServiceSid: serviceSid, Identity: identity, Attributes: "{}",
		RoleSid: svc.DefaultChatServiceRoleSid, DateCreated: now, DateUpdated: now}).Error
}
