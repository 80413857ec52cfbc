// Package facility keeps the rooms of the system and what happens at their
// doors (環境及び設備, koto-ward:11; 端末機の設置, aomori-pref:6): each room
// with its protection level (level 3 storage of data and security
// information, level 2 server and network room, level 1 terminal area),
// the staff members authorised to enter it, the entry and exit log
// (recorded at the door by a clerk or imported from a card reader's CSV),
// visitors with the staff member escorting them, and the approved
// installation of each terminal in a room with its terminal manager
// (端末機管理者).
//
// The record is the control. Once the node records a terminal-level room,
// a terminal that is not in an approved installation is refused, at
// sign-in and at the gate, by the profile's installed-terminal policy
// (koto-ward:11/installed-terminal, aomori-pref:6.1/installed-terminal):
// the policy engine keeps Facts in its snapshot, and every installation
// bumps the staff version so the engines rebuild. A node that records no
// room keeps working as before: turning the rule on for every node at
// once would lock every existing node out on upgrade, before anyone could
// record where its terminals stand.
//
// An entry by someone not authorised for the room (a visitor: their escort)
// is stored marked unauthorised; the detection (internal/detect) raises an
// alert on it.
package facility

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActManage records rooms and who is authorised to enter them
	// (koto-ward:11; aomori-pref:5).
	ActManage = "manage-facilities"
	// ActRecordEntry records entries and exits at the door, and imports
	// the card reader's log.
	ActRecordEntry = "record-entry"
	// ActInstall approves the installation of a terminal in a room
	// (aomori-pref:6.1).
	ActInstall = "install-terminal"
	// ActView opens the record (asked, not logged).
	ActView = "view-facilities"
	// ActSignIn is asked at sign-in with only forbid policies in mind: a
	// terminal not in an approved installation is refused
	// (InstalledTerminalPolicy).
	ActSignIn = "sign-in"
)

// Actions are the record's actions, for the policy engine.
var Actions = []string{ActManage, ActRecordEntry, ActInstall, ActView, ActSignIn}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{
	ActManage: "重要機能室・入室権限の登録", ActRecordEntry: "入退室の記録", ActInstall: "端末機の設置の承認",
	ActView: "入退室・設置の記録の閲覧", ActSignIn: "ログイン",
}

// InstalledTerminalPolicy ends the id of each profile policy that refuses a
// terminal not in an approved installation.
const InstalledTerminalPolicy = "/installed-terminal"

// Level is a room's protection level (domain.md §5a).
type Level int

// The levels.
const (
	LevelTerminal Level = 1 // 端末設置区域
	LevelServer   Level = 2 // サーバ室・ネットワーク機器室
	LevelStorage  Level = 3 // データ・セキュリティ情報の保管室
)

// LevelJapanese names a level.
func LevelJapanese(l Level) string {
	switch l {
	case LevelTerminal:
		return "レベル1（端末設置区域）"
	case LevelServer:
		return "レベル2（サーバ室・ネットワーク機器室）"
	case LevelStorage:
		return "レベル3（データ・セキュリティ情報の保管室）"
	}
	return fmt.Sprintf("レベル%d", l)
}

// LevelEnglish names a level in English.
func LevelEnglish(l Level) string {
	switch l {
	case LevelTerminal:
		return "level 1 (terminal area)"
	case LevelServer:
		return "level 2 (server and network room)"
	case LevelStorage:
		return "level 3 (storage of data and security information)"
	}
	return fmt.Sprintf("level %d", l)
}

// What the text of the record may hold (docs/fields.md).
var (
	FieldBuilding = resident.Field{Name: "building", Japanese: "建物", Class: resident.ClassText, Max: 100}
	FieldRoomName = resident.Field{Name: "name", Japanese: "室名", Class: resident.ClassText, Max: 100}
	FieldPurpose  = resident.Field{Name: "purpose", Japanese: "目的", Class: resident.ClassText, Max: 200}
	FieldVisitor  = resident.Field{Name: "visitor", Japanese: "来訪者（所属・氏名）", Class: resident.ClassText, Max: 100}
)

// Room is a room of the system (重要機能室).
type Room struct {
	ID       string
	Building string
	Name     string
	Level    Level
	// Authorised are the verification ids of the staff members authorised
	// to enter (filled in by Rooms).
	Authorised []string
}

// Check applies the field rules to a room, trimming its text.
func (r *Room) Check() error {
	r.ID, r.Building, r.Name = strings.TrimSpace(r.ID), strings.TrimSpace(r.Building), strings.TrimSpace(r.Name)
	if err := checkID("room", "室ID", r.ID); err != nil {
		return err
	}
	if err := resident.CheckValues(resident.Value{Field: FieldBuilding, Text: r.Building, Required: true},
		resident.Value{Field: FieldRoomName, Text: r.Name, Required: true}); err != nil {
		return err
	}
	if r.Level < LevelTerminal || r.Level > LevelStorage {
		return apperr.New(apperr.Invalid, fmt.Sprintf("level %d: use 1 (terminal area), 2 (server and network room) or 3 (storage)", r.Level),
			"保護レベルは 1（端末設置区域）、2（サーバ室・ネットワーク機器室）、3（保管室）から選んでください").At("level")
	}
	return nil
}

// Direction is an entry or an exit.
type Direction string

// The directions.
const (
	In  Direction = "in"
	Out Direction = "out"
)

// Entry is one passage through a room's door.
type Entry struct {
	ID   int64
	Room string
	// Person is the verification id of the staff member who passed; empty
	// for a visitor, who is named in Visitor and escorted by Escort.
	Person  string
	Visitor string
	Escort  string
	Purpose string
	Dir     Direction
	At      time.Time
	// Source is "door" (recorded by a clerk) or "card" (imported).
	Source string
	// Authorised says the person (a visitor: the escort) was authorised
	// for the room when the entry was recorded.
	Authorised bool
	RecordedBy string
}

// Check applies the field rules to an entry, trimming its text.
func (e *Entry) Check() error {
	e.Room, e.Person, e.Visitor, e.Escort, e.Purpose = strings.TrimSpace(e.Room), strings.TrimSpace(e.Person), strings.TrimSpace(e.Visitor), strings.TrimSpace(e.Escort), strings.TrimSpace(e.Purpose)
	if err := checkID("room", "室ID", e.Room); err != nil {
		return err
	}
	switch {
	case e.Person == "" && e.Visitor == "":
		return apperr.New(apperr.Invalid, "person: give the staff member's verification id, or a visitor and their escort", "入退室した職員の照合ID、または来訪者とその同行職員を入力してください").At("person")
	case e.Person != "" && e.Visitor != "":
		return apperr.New(apperr.Invalid, "person and visitor: give one, not both", "職員と来訪者はどちらか一方を入力してください").At("person")
	case e.Person != "":
		if err := checkID("person", "職員の照合ID", e.Person); err != nil {
			return err
		}
	default:
		if err := resident.CheckValues(resident.Value{Field: FieldVisitor, Text: e.Visitor, Required: true}); err != nil {
			return err
		}
		if e.Escort == "" {
			return apperr.New(apperr.Invalid, "escort: a visitor enters only with a staff member escorting them", "来訪者には同行する職員（照合ID）を入力してください").At("escort")
		}
		if err := checkID("escort", "同行職員の照合ID", e.Escort); err != nil {
			return err
		}
	}
	if e.Dir != In && e.Dir != Out {
		return apperr.New(apperr.Invalid, fmt.Sprintf("direction %q: use in or out", e.Dir), "入室（in）か退室（out）かを選んでください").At("direction")
	}
	if e.At.IsZero() {
		return apperr.New(apperr.Invalid, "time: required", "入退室の日時を入力してください").At("time")
	}
	// The card reader knows no purpose; a clerk at the door asks for it.
	return resident.CheckValues(resident.Value{Field: FieldPurpose, Text: e.Purpose, Required: e.Source != "card"})
}

// Installation is a terminal's approved installation in a room
// (aomori-pref:6.1, 6.2).
type Installation struct {
	Terminal string
	Room     string
	// Manager is the verification id of the terminal manager (端末機管理者);
	// ManagerName is filled in by Installations.
	Manager     string
	ManagerName string
	ApprovedBy  string
	ApprovedAt  time.Time
}

func checkID(field, fieldJA, id string) error {
	if id == "" {
		return apperr.New(apperr.Invalid, field+": required", fieldJA+"を入力してください").At(field)
	}
	if !staff.WellFormedID(id) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: use 1 to 64 letters, digits, '.', '_' or '-'", field, id),
			fmt.Sprintf("%s「%s」は英数字と . _ - の64文字以内で入力してください", fieldJA, id)).At(field)
	}
	return nil
}

// ParseTime reads a time of the card reader or the door form: RFC 3339, or
// YYYY-MM-DD HH:MM in Japan time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, jptext.JST); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2026-12-01T09:15:00+09:00) or YYYY-MM-DD HH:MM (Japan time)", s)
}

// Register keeps a node's rooms, entry log and installations.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	node  string
	// Now is the clock (nothing is entered in the future); nil means
	// time.Now.
	Now func() time.Time

	staff.Listeners // OnChange: run after every committed change (the policy engine's Invalidate)
}

// New returns the record of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, node string) *Register {
	return &Register{db: d, log: log, authz: authz, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// administer makes one change once the policies allow who to take action,
// in the transaction of its audit entry. bump marks the staff data changed
// (what the policies read) and runs the OnChange functions.
func (r *Register) administer(ctx context.Context, who staff.Who, action, auditAction, query, detail string, bump bool,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "facility." + auditAction, Query: query, Detail: detail}
	err := staff.Administer(ctx, r.log, r.authz, who, action, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := work(ctx, tx, seq, now); err != nil {
				return err
			}
			if bump {
				return staff.BumpVersion(ctx, tx)
			}
			return nil
		})
	if err != nil || !bump {
		return err
	}
	r.Notify()
	return nil
}

// personID finds an active staff member named in field.
func personID(ctx context.Context, tx *db.Tx, field, fieldJA, vid string) (int64, error) {
	var id int64
	var active bool
	err := tx.QueryRow(ctx, `SELECT id, active FROM staff_person WHERE verification_id = ?`, vid).Scan(&id, &active)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("%s is not an active staff member", vid),
			fmt.Sprintf("%sの照合ID %s は登録されていないか、異動・退職済みです", fieldJA, vid)).At(field)
	}
	if err != nil {
		return 0, fmt.Errorf("find staff member %s: %w", vid, err)
	}
	return id, nil
}

// roomExists refuses a room not registered, naming no input: the caller
// says which (apperr.About).
func roomExists(ctx context.Context, tx *db.Tx, room string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM facility_room WHERE id = ?`, room).Scan(&n); err != nil {
		return fmt.Errorf("find room %s: %w", room, err)
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, fmt.Sprintf("no room %s", room), fmt.Sprintf("室ID %s の部屋は登録されていません", room))
	}
	return nil
}

// AddRoom records a room with its level. Adding the first terminal-level
// room turns the installed-terminal rule on, so it marks the staff data
// changed.
func (r *Register) AddRoom(ctx context.Context, who staff.Who, room Room) error {
	if err := room.Check(); err != nil {
		return err
	}
	return r.administer(ctx, who, ActManage, "room", "room:"+room.ID,
		fmt.Sprintf("room %s %q in %q, level %d", room.ID, room.Name, room.Building, room.Level), true,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM facility_room WHERE id = ?`, room.ID).Scan(&n); err != nil {
				return fmt.Errorf("look for room %s: %w", room.ID, err)
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("room %s already exists", room.ID), fmt.Sprintf("室ID %s は既に登録されています", room.ID)).At("room")
			}
			if _, err := tx.Exec(ctx, `INSERT INTO facility_room (id, building, name, level, created_by, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				room.ID, room.Building, room.Name, int(room.Level), who.Actor.String(), now, seq); err != nil {
				return fmt.Errorf("add room %s: %w", room.ID, err)
			}
			return nil
		})
}

// Authorise records that the staff member vid may enter room.
func (r *Register) Authorise(ctx context.Context, who staff.Who, room, vid string) error {
	room, vid = strings.TrimSpace(room), strings.TrimSpace(vid)
	if err := checkID("room", "室ID", room); err != nil {
		return err
	}
	if err := checkID("person", "職員の照合ID", vid); err != nil {
		return err
	}
	return r.administer(ctx, who, ActManage, "authorise", "room:"+room, "authorise "+vid+" for "+room, false,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := roomExists(ctx, tx, room); err != nil {
				return apperr.About(err, "room")
			}
			pid, err := personID(ctx, tx, "person", "職員", vid)
			if err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM facility_authorisation WHERE room_id = ? AND person_id = ?`, room, pid).Scan(&n); err != nil {
				return fmt.Errorf("look for authorisation: %w", err)
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("%s is already authorised for %s", vid, room), fmt.Sprintf("%s は既に %s への入室を認められています", vid, room)).At("person")
			}
			_, err = tx.Exec(ctx, `INSERT INTO facility_authorisation (room_id, person_id, granted_by, granted_at, seq) VALUES (?, ?, ?, ?, ?)`,
				room, pid, who.Actor.String(), now, seq)
			return err
		})
}

// Revoke withdraws vid's authorisation for room; from then their entries
// are unauthorised. The audit log keeps the history of authorisations.
func (r *Register) Revoke(ctx context.Context, who staff.Who, room, vid string) error {
	room, vid = strings.TrimSpace(room), strings.TrimSpace(vid)
	if err := checkID("room", "室ID", room); err != nil {
		return err
	}
	if err := checkID("person", "職員の照合ID", vid); err != nil {
		return err
	}
	return r.administer(ctx, who, ActManage, "revoke", "room:"+room, "revoke the authorisation of "+vid+" for "+room, false,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `DELETE FROM facility_authorisation WHERE room_id = ? AND person_id IN (SELECT id FROM staff_person WHERE verification_id = ?)`, room, vid)
			if err != nil {
				return fmt.Errorf("revoke the authorisation of %s for %s: %w", vid, room, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.NotFound, fmt.Sprintf("%s is not authorised for %s", vid, room), fmt.Sprintf("%s は %s への入室を認められていません", vid, room)).At("person")
			}
			return nil
		})
}

// authorised says whether vid is authorised for room (false for anyone
// unknown to the staff store).
func authorised(ctx context.Context, tx *db.Tx, room, vid string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM facility_authorisation a JOIN staff_person p ON p.id = a.person_id
		WHERE a.room_id = ? AND p.verification_id = ? AND p.active = ?`, room, vid, true).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check authorisation of %s for %s: %w", vid, room, err)
	}
	return n > 0, nil
}

// insertEntry stores one entry, working out whether it was authorised.
func insertEntry(ctx context.Context, tx *db.Tx, e *Entry, by string, seq int64) error {
	if err := roomExists(ctx, tx, e.Room); err != nil {
		return apperr.About(err, "room")
	}
	holder := e.Person
	if holder == "" {
		holder = e.Escort
	}
	ok, err := authorised(ctx, tx, e.Room, holder)
	if err != nil {
		return err
	}
	e.Authorised = ok
	null := func(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
	if _, err := tx.Exec(ctx, `INSERT INTO facility_entry (room_id, person_vid, visitor, escort_vid, purpose, direction, at, source, authorised, recorded_by, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Room, null(e.Person), null(e.Visitor), null(e.Escort), e.Purpose, string(e.Dir), e.At.UTC(), e.Source, ok, by, seq); err != nil {
		return fmt.Errorf("record entry to %s: %w", e.Room, err)
	}
	return nil
}

// RecordEntry records, as a clerk at the door, one entry or exit. An entry
// by someone not authorised for the room is stored, marked so, and the
// detection raises an alert on it; the returned entry says which.
func (r *Register) RecordEntry(ctx context.Context, who staff.Who, e Entry) (Entry, error) {
	e.Source = "door"
	if err := e.Check(); err != nil {
		return e, err
	}
	if e.At.After(r.now()) {
		return e, apperr.New(apperr.Invalid, "time "+e.At.Format(time.RFC3339)+" is in the future", "入退室の日時が現在より後です").At("time")
	}
	subject := e.Person
	if subject == "" {
		subject = "visitor " + e.Visitor + " escorted by " + e.Escort
	}
	err := r.administer(ctx, who, ActRecordEntry, "entry", "room:"+e.Room,
		fmt.Sprintf("%s %s %s at %s: %s", subject, e.Dir, e.Room, e.At.In(jptext.JST).Format("2006-01-02 15:04"), e.Purpose), false,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			return insertEntry(ctx, tx, &e, who.Actor.String(), seq)
		})
	return e, err
}

// CSVHeader is the card reader's layout (docs/facilities.md).
var CSVHeader = []string{"room_id", "verification_id", "direction", "time"}

// ImportCSV imports a card reader's log: a header line room_id,
// verification_id, direction, time, then one passage a line (direction in
// or out; time RFC 3339 or YYYY-MM-DD HH:MM in Japan time). It is all or
// nothing: every bad line is reported with its line and column, and then
// nothing is stored. It returns how many entries were stored and how many
// of them were unauthorised.
func (r *Register) ImportCSV(ctx context.Context, who staff.Who, src io.Reader) (stored, unauthorised int, err error) {
	rd := csv.NewReader(src)
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	var entries []Entry
	var lines []int // each entry's line in the file
	var problems []string
	now := r.now()
	for first := true; ; first = false {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return 0, 0, apperr.New(apperr.Invalid, err.Error(), fmt.Sprintf("%d行目を読み取れません（CSVの形式が正しくありません）", pe.Line))
		} else if err != nil {
			return 0, 0, fmt.Errorf("read the card reader's CSV: %w", err)
		}
		// The line in the file (the reader skips empty lines).
		line, _ := rd.FieldPos(0)
		if first {
			if !slices.Equal(trimAll(rec), CSVHeader) {
				return 0, 0, apperr.New(apperr.Invalid, "line 1: the header must be "+strings.Join(CSVHeader, ","),
					"1行目（見出し）は "+strings.Join(CSVHeader, ",")+" としてください")
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(CSVHeader) {
			problems = append(problems, fmt.Sprintf("%d行目: 列が%d個あります（4個: %s）", line, len(rec), strings.Join(CSVHeader, ",")))
			continue
		}
		e := Entry{Room: rec[0], Person: rec[1], Dir: Direction(strings.TrimSpace(rec[2])), Source: "card", Purpose: ""}
		t, terr := ParseTime(rec[3])
		switch {
		case terr != nil:
			problems = append(problems, fmt.Sprintf("%d行目 %d列（time）: 日時「%s」を読み取れません（2026-12-01T09:15:00+09:00 または 2026-12-01 09:15）", line, 4, strings.TrimSpace(rec[3])))
			continue
		case t.After(now):
			problems = append(problems, fmt.Sprintf("%d行目 %d列（time）: 日時が現在より後です", line, 4))
			continue
		}
		e.At = t
		if strings.TrimSpace(e.Person) == "" {
			problems = append(problems, fmt.Sprintf("%d行目 %d列（verification_id）: 照合IDがありません", line, 2))
			continue
		}
		if err := e.Check(); err != nil {
			col := map[string]int{"room": 1, "person": 2, "direction": 3}
			c := 0
			for _, f := range apperr.FieldsOf(err) {
				if v, ok := col[f.Name]; ok && c == 0 {
					c = v
				}
			}
			problems = append(problems, fmt.Sprintf("%d行目 %d列（%s）: %s", line, c, CSVHeader[max(c-1, 0)], apperr.JapaneseOf(err)))
			continue
		}
		entries = append(entries, e)
		lines = append(lines, line)
	}
	if len(problems) > 0 {
		return 0, 0, apperr.New(apperr.Invalid, fmt.Sprintf("%d bad line(s); nothing was imported: %s", len(problems), strings.Join(problems, "; ")),
			"取り込みませんでした。"+strings.Join(problems, "／"))
	}
	if len(entries) == 0 {
		return 0, 0, apperr.New(apperr.Invalid, "no entries after the header", "見出しの後に入退室の行がありません")
	}
	err = r.administer(ctx, who, ActRecordEntry, "import", "card-reader", fmt.Sprintf("import %d card-reader entries", len(entries)), false,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			for i := range entries {
				if err := insertEntry(ctx, tx, &entries[i], who.Actor.String(), seq); err != nil {
					var ae *apperr.Error
					if errors.As(err, &ae) {
						return apperr.New(ae.Code, fmt.Sprintf("line %d: %s; nothing was imported", lines[i], ae.Error()), fmt.Sprintf("%d行目: %s。取り込みませんでした", lines[i], apperr.JapaneseOf(err)))
					}
					return err
				}
				if !entries[i].Authorised {
					unauthorised++
				}
			}
			return nil
		})
	if err != nil {
		return 0, 0, err
	}
	return len(entries), unauthorised, nil
}

func trimAll(rec []string) []string {
	out := make([]string, len(rec))
	for i, s := range rec {
		out[i] = strings.TrimPrefix(strings.TrimSpace(s), "\ufeff")
	}
	return out
}

// Install approves the installation of a terminal in a room with its
// terminal manager (aomori-pref:6.1, 6.2): a terminal installed elsewhere
// before is moved (its earlier installation ends in the same transaction).
func (r *Register) Install(ctx context.Context, who staff.Who, in Installation) error {
	in.Terminal, in.Room, in.Manager = strings.TrimSpace(in.Terminal), strings.TrimSpace(in.Room), strings.TrimSpace(in.Manager)
	if err := checkID("terminal", "端末ID", in.Terminal); err != nil {
		return err
	}
	if err := checkID("room", "室ID", in.Room); err != nil {
		return err
	}
	if err := checkID("manager", "端末機管理者の照合ID", in.Manager); err != nil {
		return err
	}
	return r.administer(ctx, who, ActInstall, "install", "terminal:"+in.Terminal,
		fmt.Sprintf("install terminal %s in %s, terminal manager %s", in.Terminal, in.Room, in.Manager), true,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			var retired sql.NullTime
			err := tx.QueryRow(ctx, `SELECT retired_at FROM staff_terminal WHERE id = ?`, in.Terminal).Scan(&retired)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && retired.Valid) {
				return apperr.New(apperr.Invalid, fmt.Sprintf("terminal %s is not an approved terminal in use", in.Terminal),
					fmt.Sprintf("端末 %s は設置の承認を受けていないか、廃止されています（職員・端末の画面で登録します）", in.Terminal)).At("terminal")
			}
			if err != nil {
				return fmt.Errorf("find terminal %s: %w", in.Terminal, err)
			}
			// The form offers only the rooms registered: a room not
			// registered stands for the whole form (apperr.Field unset).
			if err := roomExists(ctx, tx, in.Room); err != nil {
				return err
			}
			mgr, err := personID(ctx, tx, "manager", "端末機管理者", in.Manager)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE facility_installation SET ended_at = ?, ended_seq = ? WHERE terminal_id = ? AND ended_at IS NULL`, now, seq, in.Terminal); err != nil {
				return fmt.Errorf("end the earlier installation of %s: %w", in.Terminal, err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO facility_installation (terminal_id, room_id, manager_person_id, approved_by, approved_at, seq) VALUES (?, ?, ?, ?, ?, ?)`,
				in.Terminal, in.Room, mgr, who.Actor.String(), now, seq)
			return err
		})
}

// Rooms returns the rooms with the people authorised for each.
func (r *Register) Rooms(ctx context.Context) ([]Room, error) {
	rows, err := r.db.Query(ctx, `SELECT id, building, name, level FROM facility_room ORDER BY level DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer rows.Close()
	var out []Room
	idx := map[string]int{}
	for rows.Next() {
		var rm Room
		var level int
		if err := rows.Scan(&rm.ID, &rm.Building, &rm.Name, &level); err != nil {
			return nil, fmt.Errorf("list rooms: %w", err)
		}
		rm.Level = Level(level)
		idx[rm.ID] = len(out)
		out = append(out, rm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	rows.Close()
	arows, err := r.db.Query(ctx, `SELECT a.room_id, p.verification_id FROM facility_authorisation a JOIN staff_person p ON p.id = a.person_id ORDER BY p.verification_id`)
	if err != nil {
		return nil, fmt.Errorf("list authorisations: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var room, vid string
		if err := arows.Scan(&room, &vid); err != nil {
			return nil, fmt.Errorf("list authorisations: %w", err)
		}
		if i, ok := idx[room]; ok {
			out[i].Authorised = append(out[i].Authorised, vid)
		}
	}
	return out, arows.Err()
}

// Entries returns the latest limit entries, newest first.
func (r *Register) Entries(ctx context.Context, limit int) ([]Entry, error) {
	rows, err := r.db.Query(ctx, `SELECT id, room_id, person_vid, visitor, escort_vid, purpose, direction, at, source, authorised, recorded_by
		FROM facility_entry ORDER BY at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var person, visitor, escort sql.NullString
		var dir string
		if err := rows.Scan(&e.ID, &e.Room, &person, &visitor, &escort, &e.Purpose, &dir, &e.At, &e.Source, &e.Authorised, &e.RecordedBy); err != nil {
			return nil, fmt.Errorf("list entries: %w", err)
		}
		e.Person, e.Visitor, e.Escort, e.Dir = person.String, visitor.String, escort.String, Direction(dir)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Installations returns the terminals' current installations.
func (r *Register) Installations(ctx context.Context) ([]Installation, error) {
	rows, err := r.db.Query(ctx, `SELECT i.terminal_id, i.room_id, p.verification_id, p.name, i.approved_by, i.approved_at
		FROM facility_installation i JOIN staff_person p ON p.id = i.manager_person_id WHERE i.ended_at IS NULL ORDER BY i.terminal_id`)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	defer rows.Close()
	var out []Installation
	for rows.Next() {
		var in Installation
		if err := rows.Scan(&in.Terminal, &in.Room, &in.Manager, &in.ManagerName, &in.ApprovedBy, &in.ApprovedAt); err != nil {
			return nil, fmt.Errorf("list installations: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Facts are what the policies read of the record.
type Facts struct {
	// Required says the node records a terminal-level room: from then on a
	// terminal must be in an approved installation.
	Required bool
	// Installed are the terminals in an approved installation.
	Installed map[string]bool
}

// Load reads the facts (when the policy engine rebuilds its snapshot,
// never per request).
func Load(ctx context.Context, q db.Querier) (Facts, error) {
	f := Facts{Installed: map[string]bool{}}
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM facility_room WHERE level = ?`, int(LevelTerminal)).Scan(&n); err != nil {
		return f, fmt.Errorf("load rooms: %w", err)
	}
	f.Required = n > 0
	rows, err := q.Query(ctx, `SELECT terminal_id FROM facility_installation WHERE ended_at IS NULL`)
	if err != nil {
		return f, fmt.Errorf("load installations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return f, fmt.Errorf("load installations: %w", err)
		}
		f.Installed[t] = true
	}
	return f, rows.Err()
}

// Unauthorised is an entry into a room by someone not authorised for it,
// for the detection.
type Unauthorised struct {
	Seq     int64 // the audit entry that recorded it
	Room    string
	Subject string // the staff member, or the escort of a visitor
	Visitor string
	At      time.Time
}

// UnauthorisedEntries returns the unauthorised entries recorded by the
// audit entries after seq from up to through.
func UnauthorisedEntries(ctx context.Context, q db.Querier, from, through int64) ([]Unauthorised, error) {
	rows, err := q.Query(ctx, `SELECT seq, room_id, COALESCE(person_vid, escort_vid), COALESCE(visitor, ''), at FROM facility_entry
		WHERE authorised = ? AND direction = ? AND seq > ? AND seq <= ? ORDER BY at, id`, false, string(In), from, through)
	if err != nil {
		return nil, fmt.Errorf("read unauthorised entries: %w", err)
	}
	defer rows.Close()
	var out []Unauthorised
	for rows.Next() {
		var u Unauthorised
		if err := rows.Scan(&u.Seq, &u.Room, &u.Subject, &u.Visitor, &u.At); err != nil {
			return nil, fmt.Errorf("read unauthorised entries: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
