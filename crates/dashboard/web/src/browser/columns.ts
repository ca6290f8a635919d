import type { ColDef, SuppressKeyboardEventParams } from 'ag-grid-community';
import type { ClassSchema, FieldSchema } from '../api';
import {
  ACLEditor,
  BooleanEditor,
  BytesEditor,
  DateEditor,
  DateRenderer,
  FileEditor,
  FileRenderer,
  GeoPointEditor,
  HeaderLabel,
  JsonEditor,
  PointerEditor,
  PointerRenderer,
  RelationRenderer,
  formatValue,
} from './cells';

/** The types a new field may have (ACL is the built-in field's alone). */
export const FIELD_TYPES = [
  'String',
  'Number',
  'Boolean',
  'Date',
  'Object',
  'Array',
  'Pointer',
  'Relation',
  'File',
  'GeoPoint',
  'Polygon',
  'Bytes',
] as const;

export const DEFAULT_FIELDS = ['objectId', 'createdAt', 'updatedAt', 'ACL'];
const READ_ONLY_FIELDS = new Set(['objectId', 'createdAt', 'updatedAt']);
const SORTABLE = new Set(['String', 'Number', 'Boolean', 'Date', 'Pointer']);

/** How the user left a class's columns: remembered per app and class in this browser. */
export interface ColumnPrefs {
  hidden: string[];
  order: string[];
  /** Widths in pixels of the columns the user resized (the others keep their default). */
  widths: Record<string, number>;
}

function prefsKey(appId: string, className: string) {
  return `reparse.dashboard.columns.${appId}.${className}`;
}

function storedWidths(raw: unknown): Record<string, number> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  return Object.fromEntries(Object.entries(raw).filter(([, w]) => typeof w === 'number' && Number.isFinite(w) && w > 0));
}

export function loadPrefs(appId: string, className: string): ColumnPrefs {
  try {
    const raw = localStorage.getItem(prefsKey(appId, className));
    if (raw) {
      const v = JSON.parse(raw) as Partial<ColumnPrefs>;
      return {
        hidden: Array.isArray(v.hidden) ? v.hidden : [],
        order: Array.isArray(v.order) ? v.order : [],
        widths: storedWidths(v.widths),
      };
    }
  } catch {
    /* unavailable storage: no preferences */
  }
  return { hidden: [], order: [], widths: {} };
}

export function savePrefs(appId: string, className: string, prefs: ColumnPrefs): void {
  try {
    localStorage.setItem(prefsKey(appId, className), JSON.stringify(prefs));
  } catch {
    /* ignore */
  }
}

export function typeLabel(f: FieldSchema): string {
  return f.targetClass ? `${f.type}<${f.targetClass}>` : f.type;
}

/** The fields shown as columns, in their default order. */
export function visibleFieldNames(schema: ClassSchema): string[] {
  const names = Object.keys(schema.fields).filter((n) => !(schema.className === '_User' && n === 'password'));
  const first = DEFAULT_FIELDS.filter((n) => names.includes(n));
  return [...first, ...names.filter((n) => !DEFAULT_FIELDS.includes(n))];
}

export function orderedFieldNames(schema: ClassSchema, prefs: ColumnPrefs): string[] {
  const names = visibleFieldNames(schema);
  const pos = new Map(prefs.order.map((n, i) => [n, i]));
  const base = new Map(names.map((n, i) => [n, i]));
  return [...names].sort((a, b) => {
    const pa = pos.get(a);
    const pb = pos.get(b);
    if (pa !== undefined && pb !== undefined) return pa - pb;
    if (pa !== undefined) return -1;
    if (pb !== undefined) return 1;
    return base.get(a)! - base.get(b)!;
  });
}

function defaultWidth(name: string, type: string): number {
  if (name === 'objectId') return 130;
  if (type === 'Date') return 220;
  return type === 'Boolean' ? 120 : 180;
}

/** Popup editors handle Enter and Tab themselves. */
function suppressPopupKeys(p: SuppressKeyboardEventParams): boolean {
  return p.editing && (p.event.key === 'Enter' || p.event.key === 'Tab');
}

function jsonEquals(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function buildColumnDefs(schema: ClassSchema, prefs: ColumnPrefs, readOnly: boolean): ColDef[] {
  return orderedFieldNames(schema, prefs).map((name) => {
    const f = schema.fields[name];
    const type = f.type;
    const def: ColDef = {
      colId: name,
      field: name,
      headerName: name,
      headerTooltip: typeLabel(f),
      headerComponentParams: { innerHeaderComponent: HeaderLabel, typeLabel: typeLabel(f) },
      hide: prefs.hidden.includes(name),
      sortable: SORTABLE.has(type),
      editable: !readOnly && !READ_ONLY_FIELDS.has(name) && type !== 'Relation',
      cellDataType: false,
      valueFormatter: (p) => formatValue(type, p.value),
      equals: jsonEquals,
      width: prefs.widths[name] ?? defaultWidth(name, type),
      cellClass: `type-${type}`,
    };
    const popup = (editor: unknown, params?: Record<string, unknown>) => {
      def.cellEditor = editor;
      def.cellEditorPopup = true;
      def.cellEditorPopupPosition = 'under';
      def.cellEditorParams = { fieldType: type, targetClass: f.targetClass, ...params };
      def.suppressKeyboardEvent = suppressPopupKeys;
    };
    switch (type) {
      case 'String':
        def.cellEditor = 'agTextCellEditor';
        break;
      case 'Number':
        def.cellEditor = 'agNumberCellEditor';
        break;
      case 'Boolean':
        def.cellEditor = BooleanEditor;
        break;
      case 'Date':
        popup(DateEditor);
        def.cellRenderer = DateRenderer;
        break;
      case 'Object':
      case 'Array':
      case 'Polygon':
        popup(JsonEditor);
        break;
      case 'Bytes':
        popup(BytesEditor);
        break;
      case 'GeoPoint':
        popup(GeoPointEditor);
        break;
      case 'Pointer':
        popup(PointerEditor);
        def.cellRenderer = PointerRenderer;
        break;
      case 'Relation':
        def.cellRenderer = RelationRenderer;
        def.cellRendererParams = { targetClass: f.targetClass };
        break;
      case 'File':
        popup(FileEditor);
        def.cellRenderer = FileRenderer;
        break;
      case 'ACL':
        popup(ACLEditor);
        break;
      default:
        popup(JsonEditor, { fieldType: 'Object' });
    }
    return def;
  });
}
