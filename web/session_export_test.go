package web

// The staff guard and its helpers, for web_test's own guarded routes: no
// production route is guarded for supervisors yet.
var (
	RequireStaff = requireStaff
	StaffOf      = staffOf
	CSRFToken    = csrfToken
)
