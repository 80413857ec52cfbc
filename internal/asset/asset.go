// Package asset keeps the register of information assets (情報資産,
// aomori-pref:2.4, 4.2, 4.3, 5; koto-ward:14): the equipment, programs,
// data sets and media of the system, each with its identifier, location,
// the staff member who manages it, the day it was installed and whether it
// is in use or retired. Terminals are assets too, but their record is the
// staff store's (approved installations, aomori-pref:6): List shows them
// from there rather than keeping a second copy.
//
// Who registers and retires which kind of asset is decided by the
// profile's policies, one action per class of asset (manage-equipment,
// manage-programs, manage-data), so the refusal names the article:
// aomori-pref:4.3 gives the deputy system administrator equipment other
// than terminals and programs (and aomori-pref:5 the system administrator
// the installation of equipment), aomori-pref:4.2 the system administrator
// the rest; koto-ward:14 gives all of it to the system administrator.
//
// Retiring an asset that holds data needs the record of how its media
// were erased or destroyed (method, by whom, witnessed by whom, the day):
// without it the retirement is refused, and the refusal is logged.
package asset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// The actions of the policies: one per class of asset, so each profile
// names the article that gives the class to a role.
const (
	// ActManageEquipment registers and retires servers and network gear
	// (aomori-pref:4.3, 5; koto-ward:14).
	ActManageEquipment = "manage-equipment"
	// ActManagePrograms registers and retires programs (aomori-pref:4.3;
	// koto-ward:14).
	ActManagePrograms = "manage-programs"
	// ActManageData registers and retires data sets and media
	// (aomori-pref:4.2; koto-ward:14).
	ActManageData = "manage-data"
	// ActView opens the register (asked, not logged).
	ActView = "view-assets"
)

// Actions are the register's actions, for the policy engine.
var Actions = []string{ActManageEquipment, ActManagePrograms, ActManageData, ActView}

// ActionJapanese names the register's actions in refusals.
var ActionJapanese = map[string]string{
	ActManageEquipment: "システム機器等の登録・廃止", ActManagePrograms: "プログラムの登録・廃止",
	ActManageData: "データ・記録媒体の登録・廃止", ActView: "情報資産台帳の閲覧",
}

// Kind is the kind of an asset.
type Kind string

// The kinds of asset.
const (
	KindServer   Kind = "server"
	KindNetwork  Kind = "network"
	KindTerminal Kind = "terminal" // the staff store's terminals, shown here
	KindProgram  Kind = "program"
	KindDataset  Kind = "dataset"
	KindMedia    Kind = "media"
)

// KindInfo is what the register knows of a kind.
type KindInfo struct {
	Kind     Kind
	Japanese string
	English  string
	// Action is the policies' action that registers and retires it.
	Action string
	// AlwaysData is set for the kinds that hold data by their nature: they
	// are retired only with an erasure record.
	AlwaysData bool
}

// Kinds are the kinds an asset may be registered as, in the register's
// order. Terminals are not among them: they are approved in staff.
var Kinds = []KindInfo{
	{KindServer, "サーバ", "server", ActManageEquipment, true},
	{KindNetwork, "ネットワーク機器", "network equipment", ActManageEquipment, false},
	{KindProgram, "プログラム", "program", ActManagePrograms, false},
	{KindDataset, "データ", "data set", ActManageData, true},
	{KindMedia, "記録媒体", "storage medium", ActManageData, true},
}

// KindOf returns the kind named k.
func KindOf(k Kind) (KindInfo, bool) {
	if k == KindTerminal {
		return KindInfo{KindTerminal, "端末機", "terminal", staff.ActApproveTerminal, true}, true
	}
	for _, i := range Kinds {
		if i.Kind == k {
			return i, true
		}
	}
	return KindInfo{}, false
}

// Method is how a medium was erased or destroyed.
type Method string

// The methods of erasure.
const (
	Overwrite Method = "overwrite" // 上書き消去
	Degauss   Method = "degauss"   // 磁気消去
	Destroy   Method = "destroy"   // 物理的破壊
)

// Methods are the methods of erasure with their Japanese names.
var Methods = []struct {
	Method   Method
	Japanese string
}{{Overwrite, "上書き消去"}, {Degauss, "磁気消去"}, {Destroy, "物理的破壊"}}

// MethodJapanese names a method of erasure.
func MethodJapanese(m Method) string {
	for _, x := range Methods {
		if x.Method == m {
			return x.Japanese
		}
	}
	return string(m)
}

// What the text of an asset may hold (docs/fields.md): the one definition
// the form, the CLI and the register apply.
var (
	FieldName         = resident.Field{Name: "name", Japanese: "名称", Class: resident.ClassText, Max: 100}
	FieldLocation     = resident.Field{Name: "location", Japanese: "設置・保管場所", Class: resident.ClassText, Max: 200}
	FieldRetireReason = resident.Field{Name: "reason", Japanese: "廃止の理由", Class: resident.ClassText, Max: 200}
	FieldErasedBy     = resident.Field{Name: "erased_by", Japanese: "消去・破壊の実施者", Class: resident.ClassText, Max: 100}
)

// Asset is one information asset in the register.
type Asset struct {
	ID       string // the identifier (管理番号)
	Kind     Kind
	Name     string
	Location string
	// Manager is the verification id of the staff member who manages it;
	// ManagerName is filled in by List.
	Manager     string
	ManagerName string
	// HoldsData says it holds data (resident data, logs, keys): it is
	// retired only with an erasure record. Set for the kinds that always do.
	HoldsData   bool
	InstalledOn time.Time // midnight JST
	// Department is the terminal's department (terminals only).
	Department   string
	RegisteredBy string
	RegisteredAt time.Time
	// Retired is set once the asset is retired (zero while in use).
	Retired *Retirement
}

// InUse says whether the asset is still in use.
func (a Asset) InUse() bool { return a.Retired == nil }

// Retirement is the end of an asset's use, with the erasure of its media.
type Retirement struct {
	Day    time.Time // midnight JST
	Reason string
	// Erasure is how the media were erased or destroyed: required when the
	// asset holds data, nil otherwise.
	Erasure *Erasure
	By      string // who recorded it (filled in by List)
}

// Erasure is how an asset's media were erased or destroyed.
type Erasure struct {
	Method Method
	By     string // who did it: a person, or a vendor and person
	// Witness is the verification id of the staff member who witnessed it
	// (List fills in WitnessName).
	Witness     string
	WitnessName string
	Day         time.Time // midnight JST
}

func midnight(t time.Time) time.Time {
	t = t.In(jptext.JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, jptext.JST)
}

// checkVID checks a verification id given for field.
func checkVID(field, fieldJA, vid string) error {
	if vid == "" {
		return apperr.New(apperr.Invalid, field+": required", fieldJA+"（照合ID）を入力してください").At(field)
	}
	if !staff.WellFormedID(vid) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: use 1 to 64 letters, digits, '.', '_' or '-'", field, vid),
			fmt.Sprintf("%s「%s」は照合ID（英数字と . _ - の64文字以内）で入力してください", fieldJA, vid)).At(field)
	}
	return nil
}

// checkDay refuses a day that is missing, after today or before not.
func checkDay(field, fieldJA string, day, today, notBefore time.Time) error {
	switch {
	case day.IsZero():
		return apperr.New(apperr.Invalid, field+": required", fieldJA+"を入力してください").At(field)
	case day.After(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s %s is after today", field, day.Format(time.DateOnly)),
			fmt.Sprintf("%s %s は今日より後です", fieldJA, jptext.FormatWareki(day))).At(field)
	case !notBefore.IsZero() && day.Before(notBefore):
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s %s is before the installation on %s", field, day.Format(time.DateOnly), notBefore.Format(time.DateOnly)),
			fmt.Sprintf("%s %s は設置日 %s より前です", fieldJA, jptext.FormatWareki(day), jptext.FormatWareki(notBefore))).At(field)
	}
	return nil
}

// Check applies the field rules to an asset about to be registered on the
// day now, trimming its text. The error is about the field
// (apperr.FieldsOf: kind, id, name, location, manager, installed) and says
// the rule, in English and Japanese.
func (a *Asset) Check(now time.Time) error {
	a.ID, a.Name, a.Location, a.Manager = strings.TrimSpace(a.ID), strings.TrimSpace(a.Name), strings.TrimSpace(a.Location), strings.TrimSpace(a.Manager)
	k, ok := KindOf(a.Kind)
	switch {
	case a.Kind == KindTerminal:
		return apperr.New(apperr.Invalid, "kind terminal: terminals are registered by their approved installation (jukinet staff terminal, aomori-pref:6), and shown here from it",
			"端末機は端末の設置の承認（職員・端末の画面）で登録します。情報資産台帳にはそこから表示されます").At("kind")
	case !ok:
		var ids []string
		for _, k := range Kinds {
			ids = append(ids, string(k.Kind))
		}
		return apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: use one of %s", a.Kind, strings.Join(ids, ", ")), "資産の種類を選んでください").At("kind")
	}
	if !staff.WellFormedID(a.ID) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("id %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", a.ID),
			fmt.Sprintf("管理番号「%s」は英数字と . _ - の64文字以内で入力してください", a.ID)).At("id")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldName, Text: a.Name, Required: true},
		resident.Value{Field: FieldLocation, Text: a.Location, Required: true}); err != nil {
		return err
	}
	if err := checkVID("manager", "管理者", a.Manager); err != nil {
		return err
	}
	if k.AlwaysData {
		a.HoldsData = true
	}
	return checkDay("installed", "設置日", a.InstalledOn, midnight(now), time.Time{})
}

// Check applies the field rules to a retirement on the day now of an asset
// installed on installed, trimming its text. The error is about the field
// (apperr.FieldsOf: reason, retired, method, erased_by, witness, erased).
func (r *Retirement) Check(now, installed time.Time) error {
	r.Reason = strings.TrimSpace(r.Reason)
	today := midnight(now)
	if err := resident.CheckValues(resident.Value{Field: FieldRetireReason, Text: r.Reason, Required: true}); err != nil {
		return err
	}
	if err := checkDay("retired", "廃止日", r.Day, today, installed); err != nil {
		return err
	}
	e := r.Erasure
	if e == nil {
		return nil
	}
	e.By, e.Witness = strings.TrimSpace(e.By), strings.TrimSpace(e.Witness)
	if !slices.ContainsFunc(Methods, func(m struct {
		Method   Method
		Japanese string
	}) bool {
		return m.Method == e.Method
	}) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("method %q: use overwrite, degauss or destroy", e.Method),
			"消去の方法（上書き消去・磁気消去・物理的破壊）を選んでください").At("method")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldErasedBy, Text: e.By, Required: true}); err != nil {
		return err
	}
	if err := checkVID("witness", "立会者", e.Witness); err != nil {
		return err
	}
	return checkDay("erased", "消去・破壊の実施日", e.Day, today, installed)
}

// Register keeps a node's register of information assets.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	staff *staff.Store
	node  string
	// Now is the clock that says which day is today (nothing is installed
	// or erased in the future); nil means time.Now.
	Now func() time.Time
}

// New returns the register of the node named node; st is the staff store
// whose terminals the register shows.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, st *staff.Store, node string) *Register {
	return &Register{db: d, log: log, authz: authz, staff: st, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// personID finds an active staff member for the field named.
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

// Add registers an asset, once the policies allow who to manage its kind.
// Bad input is refused before anything is logged; a manager who is not an
// active staff member or an identifier already used is refused in the
// transaction, logged, with nothing stored.
func (r *Register) Add(ctx context.Context, who staff.Who, a Asset) error {
	if err := a.Check(r.now()); err != nil {
		return err
	}
	k, _ := KindOf(a.Kind)
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "asset.add", Query: "asset:" + a.ID,
		Detail: fmt.Sprintf("%s %q at %s, managed by %s, installed %s, holds data: %t", a.Kind, a.Name, a.Location, a.Manager, a.InstalledOn.Format(time.DateOnly), a.HoldsData)}
	return staff.Administer(ctx, r.log, r.authz, who, k.Action, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM asset WHERE id = ?`, a.ID).Scan(&n); err != nil {
				return fmt.Errorf("look for asset %s: %w", a.ID, err)
			}
			if n == 0 {
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM staff_terminal WHERE id = ?`, a.ID).Scan(&n); err != nil {
					return fmt.Errorf("look for terminal %s: %w", a.ID, err)
				}
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("asset %s already exists", a.ID), fmt.Sprintf("管理番号 %s は既に登録されています", a.ID)).At("id")
			}
			mgr, err := personID(ctx, tx, "manager", "管理者", a.Manager)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO asset (id, kind, name, location, manager_person_id, holds_data, installed_on, registered_by, registered_at, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, string(a.Kind), a.Name, a.Location, mgr, a.HoldsData,
				a.InstalledOn.Format(time.DateOnly), who.Actor.String(), now, seq); err != nil {
				return fmt.Errorf("register asset %s: %w", a.ID, err)
			}
			return nil
		})
}

// Retire records the end of an asset's use, once the policies allow who to
// manage its kind. An asset that holds data is retired only with the
// record of how its media were erased or destroyed (koto-ward:14,
// aomori-pref:4.2): without it the retirement is refused and the refusal
// logged. Terminals are retired in staff.
func (r *Register) Retire(ctx context.Context, who staff.Who, id string, ret Retirement) error {
	id = strings.TrimSpace(id)
	a, err := r.Get(ctx, id)
	if err != nil {
		return apperr.About(err, "id")
	}
	if a.Kind == KindTerminal {
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s is a terminal: retire it in staff", id), fmt.Sprintf("%s は端末機です。端末の廃止は職員・端末の画面で行います", id)).At("id")
	}
	if err := ret.Check(r.now(), a.InstalledOn); err != nil {
		return err
	}
	k, _ := KindOf(a.Kind)
	detail := fmt.Sprintf("retire %s %q on %s: %s", a.Kind, a.Name, ret.Day.Format(time.DateOnly), ret.Reason)
	if er := ret.Erasure; er != nil {
		detail += fmt.Sprintf("; media %s by %s, witnessed by %s on %s", er.Method, er.By, er.Witness, er.Day.Format(time.DateOnly))
	} else {
		detail += "; no erasure record"
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "asset.retire", Query: "asset:" + a.ID, Detail: detail}
	return staff.Administer(ctx, r.log, r.authz, who, k.Action, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			var holds bool
			var retired sql.NullString
			if err := tx.QueryRow(ctx, `SELECT holds_data, retired_on FROM asset WHERE id = ?`, a.ID).Scan(&holds, &retired); err != nil {
				return fmt.Errorf("read asset %s: %w", a.ID, err)
			}
			if retired.Valid {
				return apperr.New(apperr.Conflict, fmt.Sprintf("asset %s was retired on %s", a.ID, retired.String), fmt.Sprintf("%s は %s に廃止済みです", a.ID, retired.String)).At("id")
			}
			er := ret.Erasure
			if holds && er == nil {
				return apperr.New(apperr.Invalid, fmt.Sprintf("asset %s holds data: record how its media were erased or destroyed (method, by whom, witness, day) to retire it", a.ID),
					fmt.Sprintf("%s はデータを記録している資産です。廃止するには、記録媒体の消去・破壊の方法、実施者、立会者、実施日を記録してください", a.ID))
			}
			var method, by, day sql.NullString
			var witness sql.NullInt64
			if er != nil {
				wid, err := personID(ctx, tx, "witness", "立会者", er.Witness)
				if err != nil {
					return err
				}
				method = sql.NullString{String: string(er.Method), Valid: true}
				by = sql.NullString{String: er.By, Valid: true}
				day = sql.NullString{String: er.Day.Format(time.DateOnly), Valid: true}
				witness = sql.NullInt64{Int64: wid, Valid: true}
			}
			if _, err := tx.Exec(ctx, `UPDATE asset SET retired_on = ?, retired_by = ?, retired_seq = ?, retire_reason = ?,
				erasure_method = ?, erased_by = ?, erasure_witness_id = ?, erased_on = ? WHERE id = ? AND retired_on IS NULL`,
				ret.Day.Format(time.DateOnly), who.Actor.String(), seq, ret.Reason, method, by, witness, day, a.ID); err != nil {
				return fmt.Errorf("retire asset %s: %w", a.ID, err)
			}
			return nil
		})
}

const selectAssets = `SELECT a.id, a.kind, a.name, a.location, p.verification_id, p.name, a.holds_data, a.installed_on,
	a.registered_by, a.registered_at, a.retired_on, a.retired_by, a.retire_reason, a.erasure_method, a.erased_by,
	w.verification_id, w.name, a.erased_on
	FROM asset a JOIN staff_person p ON p.id = a.manager_person_id LEFT JOIN staff_person w ON w.id = a.erasure_witness_id`

func scanAssets(rows *sql.Rows) ([]Asset, error) {
	defer rows.Close()
	var out []Asset
	for rows.Next() {
		var a Asset
		var kind, installed string
		var retOn, retBy, reason, method, by, wVID, wName, erasedOn sql.NullString
		if err := rows.Scan(&a.ID, &kind, &a.Name, &a.Location, &a.Manager, &a.ManagerName, &a.HoldsData, &installed,
			&a.RegisteredBy, &a.RegisteredAt, &retOn, &retBy, &reason, &method, &by, &wVID, &wName, &erasedOn); err != nil {
			return nil, fmt.Errorf("list assets: %w", err)
		}
		a.Kind = Kind(kind)
		var err error
		if a.InstalledOn, err = time.ParseInLocation(time.DateOnly, installed, jptext.JST); err != nil {
			return nil, fmt.Errorf("asset %s: installed %q: %w", a.ID, installed, err)
		}
		if retOn.Valid {
			ret := &Retirement{Reason: reason.String, By: retBy.String}
			if ret.Day, err = time.ParseInLocation(time.DateOnly, retOn.String, jptext.JST); err != nil {
				return nil, fmt.Errorf("asset %s: retired %q: %w", a.ID, retOn.String, err)
			}
			if method.Valid {
				er := &Erasure{Method: Method(method.String), By: by.String, Witness: wVID.String, WitnessName: wName.String}
				if er.Day, err = time.ParseInLocation(time.DateOnly, erasedOn.String, jptext.JST); err != nil {
					return nil, fmt.Errorf("asset %s: erased %q: %w", a.ID, erasedOn.String, err)
				}
				ret.Erasure = er
			}
			a.Retired = ret
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Get returns one asset, a terminal of the staff store too.
func (r *Register) Get(ctx context.Context, id string) (Asset, error) {
	rows, err := r.db.Query(ctx, selectAssets+` WHERE a.id = ?`, id)
	if err != nil {
		return Asset{}, fmt.Errorf("read asset %s: %w", id, err)
	}
	list, err := scanAssets(rows)
	if err != nil {
		return Asset{}, err
	}
	if len(list) == 1 {
		return list[0], nil
	}
	if staff.WellFormedID(id) {
		if t, err := r.staff.Terminal(ctx, id); err == nil {
			return terminalAsset(t), nil
		}
	}
	return Asset{}, apperr.New(apperr.NotFound, fmt.Sprintf("no asset %s", id), fmt.Sprintf("管理番号 %s の情報資産は登録されていません", id))
}

// terminalAsset shows a terminal of the staff store as an asset: its
// manager is the terminal manager reported (aomori-pref:6), its
// installation the approval.
func terminalAsset(t staff.Terminal) Asset {
	a := Asset{ID: t.ID, Kind: KindTerminal, Name: t.Name, Location: t.Location, Manager: t.ManagerVID, ManagerName: t.ManagerName,
		HoldsData: true, InstalledOn: midnight(t.ApprovedAt), Department: t.Department, RegisteredBy: t.ApprovedBy, RegisteredAt: t.ApprovedAt}
	if !t.RetiredAt.IsZero() {
		a.Retired = &Retirement{Day: midnight(t.RetiredAt)}
	}
	return a
}

// List returns the register: the assets recorded here and the terminals of
// the staff store, by kind (in the order of Kinds, terminals after
// network equipment) and identifier.
func (r *Register) List(ctx context.Context) ([]Asset, error) {
	rows, err := r.db.Query(ctx, selectAssets+` ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	out, err := scanAssets(rows)
	if err != nil {
		return nil, err
	}
	terminals, err := r.staff.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range terminals {
		out = append(out, terminalAsset(t))
	}
	order := map[Kind]int{KindServer: 0, KindNetwork: 1, KindTerminal: 2, KindProgram: 3, KindDataset: 4, KindMedia: 5}
	slices.SortStableFunc(out, func(a, b Asset) int {
		if c := order[a.Kind] - order[b.Kind]; c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
