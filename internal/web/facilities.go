package web

import (
	"net/http"
	"strconv"
	"strings"

	"jukinet/internal/apperr"
	"jukinet/internal/facility"
	"jukinet/internal/jptext"
)

// The rooms and installations screen (入退室・設置, koto-ward:11,
// aomori-pref:6): the rooms with their levels and who may enter each, the
// terminals' approved installations, the latest entries and exits (an
// unauthorised entry marked), and the forms to record each, behind the
// biometric re-check. Which forms a person sees is the policies' answer.
func (s *Server) facilityRoutes() {
	s.mux.HandleFunc("GET /facilities", s.signedIn(s.facilitiesPage))
	s.mux.HandleFunc("POST /facilities/rooms", s.signedIn(s.facilityChange("room", s.addRoom)))
	s.mux.HandleFunc("POST /facilities/authorise", s.signedIn(s.facilityChange("authorise", s.authoriseRoom)))
	s.mux.HandleFunc("POST /facilities/entries", s.signedIn(s.facilityChange("entry", s.recordEntry)))
	s.mux.HandleFunc("POST /facilities/import", s.signedIn(s.facilityChange("import", s.importEntries)))
	s.mux.HandleFunc("POST /facilities/install", s.signedIn(s.facilityChange("install", s.installTerminal)))
}

// roomRow is a room as the screen shows it.
type roomRow struct {
	facility.Room
	LevelName string
}

func (s *Server) facilitiesPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderFacilities(w, r, c, http.StatusOK, typedForm{})
}

// facilityInputs are the inputs of the screen's forms, in the order they
// appear.
var facilityInputs = map[string]formInputs{
	"room":      {order: []string{"id", "building", "name", "level"}, rename: map[string]string{"room": "id"}},
	"authorise": {order: []string{"room", "person"}},
	"entry":     {order: []string{"room", "person", "visitor", "escort", "purpose", "direction", "time"}},
	"import":    {order: []string{"csv"}},
	"install":   {order: []string{"terminal", "room", "manager"}},
}

// renderFacilities shows the rooms and installations screen; typed, when
// set, is the form refused, shown again with its error at its input.
func (s *Server) renderFacilities(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, facility.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	rooms, err := s.node.Facilities.Rooms(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var rows []roomRow
	for _, rm := range rooms {
		rows = append(rows, roomRow{Room: rm, LevelName: wd.pick(facility.LevelJapanese(rm.Level), facility.LevelEnglish(rm.Level))})
	}
	ins, err := s.node.Facilities.Installations(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	entries, err := s.node.Facilities.Entries(ctx, 100)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	terminals, err := s.node.Staff.Terminals(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var inUse []string
	for _, t := range terminals {
		if t.RetiredAt.IsZero() {
			inUse = append(inUse, t.ID)
		}
	}
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var active []any
	for _, p := range people {
		if p.Active {
			active = append(active, map[string]string{"VerificationID": p.VerificationID, "Name": p.Name, "Department": wd.dept(p.Department)})
		}
	}
	var levels []kindOption
	for _, l := range []facility.Level{facility.LevelTerminal, facility.LevelServer, facility.LevelStorage} {
		levels = append(levels, kindOption{Kind: strconv.Itoa(int(l)), Name: wd.pick(facility.LevelJapanese(l), facility.LevelEnglish(l))})
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "facilities", "Facilities", map[string]any{
		"Typed": typed, "Rooms": rows, "MaxBuilding": facility.FieldBuilding.Max, "MaxRoomName": facility.FieldRoomName.Max,
		"MaxPurpose": facility.FieldPurpose.Max, "MaxVisitor": facility.FieldVisitor.Max, "Installations": ins, "Entries": entries, "Terminals": inUse, "People": active, "Levels": levels,
		"MayManage":  s.may(ctx, c, facility.ActManage, s.nodeResource()),
		"MayRecord":  s.may(ctx, c, facility.ActRecordEntry, s.nodeResource()),
		"MayInstall": s.may(ctx, c, facility.ActInstall, s.nodeResource()),
		"Now":        s.node.Now().In(jptext.JST).Format("2006-01-02 15:04"),
		"CSVHeader":  strings.Join(facility.CSVHeader, ","),
	})
}

// facilityChange runs a form's change behind the biometric re-check and
// goes back to the screen; bad input is refused at its field (the screen
// again, what was typed kept), and nothing is stored.
func (s *Server) facilityChange(form string, do func(r *http.Request, c *current) error) func(http.ResponseWriter, *http.Request, *current) {
	return func(w http.ResponseWriter, r *http.Request, c *current) {
		if !s.recentlyVerified(w, r, c, "/facilities") {
			return
		}
		if err := r.ParseForm(); err != nil {
			s.problem(w, r, err)
			return
		}
		if s.refusedAt(w, r, form, facilityInputs[form], do(r, c), func(status int, t typedForm) { s.renderFacilities(w, r, c, status, t) }) {
			return
		}
		http.Redirect(w, r, "/facilities", http.StatusSeeOther)
	}
}

func (s *Server) addRoom(r *http.Request, c *current) error {
	level, _ := strconv.Atoi(r.FormValue("level"))
	return s.node.Facilities.AddRoom(r.Context(), c.who(), facility.Room{ID: r.FormValue("id"), Building: r.FormValue("building"), Name: r.FormValue("name"), Level: facility.Level(level)})
}

func (s *Server) authoriseRoom(r *http.Request, c *current) error {
	return s.node.Facilities.Authorise(r.Context(), c.who(), r.FormValue("room"), r.FormValue("person"))
}

func (s *Server) recordEntry(r *http.Request, c *current) error {
	at, err := facility.ParseTime(r.FormValue("time"))
	if err != nil {
		return apperr.New(apperr.Invalid, err.Error(), "入退室の日時「"+r.FormValue("time")+"」を読み取れません。2026-12-01 09:15 の形で入力してください").At("time")
	}
	_, err = s.node.Facilities.RecordEntry(r.Context(), c.who(), facility.Entry{Room: r.FormValue("room"), Person: r.FormValue("person"),
		Visitor: r.FormValue("visitor"), Escort: r.FormValue("escort"), Purpose: r.FormValue("purpose"), Dir: facility.Direction(r.FormValue("direction")), At: at})
	return err
}

func (s *Server) importEntries(r *http.Request, c *current) error {
	_, _, err := s.node.Facilities.ImportCSV(r.Context(), c.who(), strings.NewReader(r.FormValue("csv")))
	return atInput(err, "csv") // every error of an import is about what was pasted
}

func (s *Server) installTerminal(r *http.Request, c *current) error {
	return s.node.Facilities.Install(r.Context(), c.who(), facility.Installation{Terminal: r.FormValue("terminal"), Room: r.FormValue("room"), Manager: r.FormValue("manager")})
}
