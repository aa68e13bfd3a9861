package taskrouter

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// MaxServiceLevelSeconds bounds a task channel's service-level and
// short-abandon thresholds: a day.
const MaxServiceLevelSeconds = 86400

// TaskChannelSettings are a task channel's own settings, not on Twilio's
// wire: the capacity new workers get on it and the thresholds service
// levels are measured with.
type TaskChannelSettings struct {
	DefaultCapacity     int
	ServiceLevelSeconds int
	ShortAbandonSeconds int
	FriendlyName        *string // nil keeps the name
}

// check validates the settings: a capacity a worker channel may have, and
// a short abandon shorter than the service level (a customer who leaves
// before they could have been answered in time is not a missed answer).
func (s TaskChannelSettings) check() error {
	if err := checkFriendlyName(s.FriendlyName, false); err != nil {
		return err
	}
	switch {
	case s.DefaultCapacity < 0 || s.DefaultCapacity > MaxChannelCapacity:
		return errs.Invalidf("DefaultCapacity must be between 0 and %d", MaxChannelCapacity)
	case s.ServiceLevelSeconds < 1 || s.ServiceLevelSeconds > MaxServiceLevelSeconds:
		return errs.Invalidf("ServiceLevelSeconds must be between 1 and %d", MaxServiceLevelSeconds)
	case s.ShortAbandonSeconds < 1 || s.ShortAbandonSeconds > MaxServiceLevelSeconds:
		return errs.Invalidf("ShortAbandonSeconds must be between 1 and %d", MaxServiceLevelSeconds)
	case s.ShortAbandonSeconds >= s.ServiceLevelSeconds:
		return errs.Invalidf("ShortAbandonSeconds (%d) must be shorter than ServiceLevelSeconds (%d)",
			s.ShortAbandonSeconds, s.ServiceLevelSeconds)
	}
	return nil
}

// UpdateTaskChannelSettings sets a task channel's default capacity and
// service-level thresholds, and renames it when FriendlyName is given. Workers that exist keep their capacity: the
// default applies to workers created from now on.
func (e *Engine) UpdateTaskChannelSettings(ctx context.Context, workspaceSid, key string, s TaskChannelSettings) (TaskChannel, error) {
	if err := s.check(); err != nil {
		return TaskChannel{}, err
	}
	var tc TaskChannel
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if tc, err = taskChannelByKey(tx.DB, workspaceSid, key); err != nil {
			return err
		}
		tc.DefaultCapacity, tc.ServiceLevelSeconds, tc.ShortAbandonSeconds = s.DefaultCapacity, s.ServiceLevelSeconds, s.ShortAbandonSeconds
		set(&tc.FriendlyName, s.FriendlyName)
		tc.DateUpdated = e.now()
		if err := tx.Model(&tc).Select("friendly_name", "default_capacity", "service_level_seconds", "short_abandon_seconds", "date_updated").
			Updates(&tc).Error; err != nil {
			return err
		}
		return e.recordTaskChannel(tx, tc, "updated")
	})
	return tc, errs.Wrap(err, "update task channel settings")
}
