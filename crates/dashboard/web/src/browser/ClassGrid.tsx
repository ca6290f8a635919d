import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import {
  AllCommunityModule,
  ModuleRegistry,
  themeQuartz,
  type CellKeyDownEvent,
  type CellValueChangedEvent,
  type ColumnMovedEvent,
  type ColumnResizedEvent,
  type GetRowIdParams,
  type GridApi,
  type GridReadyEvent,
  type IDatasource,
  type IGetRowsParams,
} from 'ag-grid-community';
import { AgGridReact } from 'ag-grid-react';
import { describeCount, errorMessage, parse, type ClassSchema } from '../api';
import { useAlert } from '../context';
import { buildColumnDefs, loadPrefs, orderedFieldNames, savePrefs, type ColumnPrefs } from './columns';
import { buildWhere, type Filter } from './filters';
import type { GridContext } from './cells';
import { FilterBar } from './FilterBar';
import { ClassDialogs, type ClassDialogKind } from './ClassDialogs';
import { RelationDialog, type RelationOwner } from './RelationDialog';

ModuleRegistry.registerModules([AllCommunityModule]);

declare global {
  interface Window {
    __dashboardGrid?: GridApi;
  }
}

const BLOCK_SIZE = 100;
const theme = themeQuartz.withParams({ fontSize: 13, headerFontSize: 13, spacing: 6 });
const SELECTION_COL = 'ag-Grid-SelectionColumn';
const basename = import.meta.env.BASE_URL.replace(/\/$/, '');

type Row = Record<string, unknown> & { objectId: string };

interface Props {
  appId: string;
  schema: ClassSchema;
  schemas: ClassSchema[];
  readOnly: boolean;
  filters: Filter[];
  setFilters: (f: Filter[]) => void;
  onSchemaChanged: () => void;
  onClassDeleted: () => void;
  onCount: (className: string, count: number) => void;
  /** The class list's count of the whole class (an estimate for large tables). */
  knownCount?: KnownCount;
}

export interface KnownCount {
  count: number;
  estimated: boolean;
}

export function ClassGrid(props: Props) {
  const { appId, schema, readOnly, filters } = props;
  const className = schema.className;
  const { showError, clear } = useAlert();
  const navigate = useNavigate();
  const apiRef = useRef<GridApi | null>(null);
  const [prefs, setPrefs] = useState<ColumnPrefs>(() => loadPrefs(appId, className));
  const [count, setCount] = useState<KnownCount | null>(null);
  const [loading, setLoading] = useState(true);
  const [selected, setSelected] = useState(0);
  const [dialog, setDialog] = useState<ClassDialogKind | null>(null);
  const [columnsOpen, setColumnsOpen] = useState(false);
  /** The Relation field being edited (from one of its cells, or the relation's own view). */
  const [relation, setRelation] = useState<{ owner: RelationOwner; targetClass: string } | null>(null);
  const relationChanged = useRef(false);
  const countRef = useRef<number | null>(null);
  const onCountRef = useRef(props.onCount);
  onCountRef.current = props.onCount;
  const knownCountRef = useRef(props.knownCount);
  knownCountRef.current = props.knownCount;
  /** Set by "Count exactly": the whole class is counted even where it is large. */
  const exactRequested = useRef(false);

  const columnDefs = useMemo(() => buildColumnDefs(schema, prefs, readOnly), [schema, prefs, readOnly]);

  const filtersKey = JSON.stringify(filters);
  /** Counts the rows matching `where` exactly, then sizes the grid to them. */
  const countRows = useCallback(
    (where: Record<string, unknown>) => {
      const q = new URLSearchParams({ count: '1', limit: '0' });
      const filtered = Object.keys(where).length > 0;
      if (filtered) q.set('where', JSON.stringify(where));
      parse<{ count?: number }>(appId, 'GET', `classes/${encodeURIComponent(className)}?${q}`).then((r) => {
        const n = r.count ?? 0;
        countRef.current = n;
        setCount({ count: n, estimated: false });
        if (!filtered) onCountRef.current(className, n);
        apiRef.current?.setRowCount(n, true);
      }, showError);
    },
    [appId, className, showError],
  );
  const datasource = useMemo<IDatasource>(() => {
    const fields = schema.fields;
    const current = JSON.parse(filtersKey) as Filter[];
    return {
      getRows: (params: IGetRowsParams) => {
        const { startRow, endRow } = params;
        let where: Record<string, unknown>;
        try {
          where = buildWhere(current, fields);
        } catch (e) {
          showError(e);
          setLoading(false);
          setCount({ count: 0, estimated: false });
          params.successCallback([], 0);
          return;
        }
        const order =
          params.sortModel.map((s) => (s.sort === 'desc' ? '-' : '') + s.colId).join(',') || '-createdAt';
        const limit = endRow - startRow;
        const q = new URLSearchParams({ limit: String(limit), skip: String(startRow), order });
        if (Object.keys(where).length > 0) q.set('where', JSON.stringify(where));
        if (startRow === 0) {
          setLoading(true);
          // The first rows never wait on counting: the count comes alongside (or, for a large
          // class with no filter, the database's estimate stands until asked for).
          const known = knownCountRef.current;
          if (current.length === 0 && known?.estimated && !exactRequested.current) {
            countRef.current = null;
            setCount(known);
          } else {
            countRows(where);
          }
        }
        parse<{ results: Row[] }>(appId, 'GET', `classes/${encodeURIComponent(className)}?${q}`).then(
          (r) => {
            const rows = r.results ?? [];
            let last = -1;
            if (rows.length < limit) last = startRow + rows.length;
            else if (countRef.current !== null && countRef.current >= startRow + rows.length) last = countRef.current;
            if (startRow === 0) setLoading(false);
            if (startRow === 0 && last === -1 && countRef.current === null && knownCountRef.current?.estimated) {
              // Scroll room for the estimate; more rows are still fetched past it if there are.
              apiRef.current?.setRowCount(knownCountRef.current.count, false);
            }
            params.successCallback(rows, last);
          },
          (e) => {
            if (startRow === 0) setLoading(false);
            showError(e);
            params.failCallback();
          },
        );
      },
    };
  }, [appId, className, schema, filtersKey, showError, countRows]);

  const editRelation = useCallback(
    (objectId: string, field: string, targetClass: string) => {
      relationChanged.current = false;
      setRelation({ owner: { className, objectId, key: field }, targetClass });
    },
    [className],
  );

  const context = useMemo<GridContext>(
    () => ({ appId, className, basename, navigate, showError, readOnly, editRelation }),
    [appId, className, navigate, showError, readOnly, editRelation],
  );

  /** Enter on a Relation cell opens its editor (the keyboard's way to the cell's Edit button). */
  const onCellKeyDown = useCallback(
    (e: CellKeyDownEvent) => {
      const key = (e.event as KeyboardEvent | null | undefined)?.key;
      const field = e.colDef.field;
      const row = e.data as Row | undefined;
      if (readOnly || key !== 'Enter' || !field || !row || schema.fields[field]?.type !== 'Relation') return;
      editRelation(row.objectId, field, schema.fields[field].targetClass ?? '');
    },
    [readOnly, schema, editRelation],
  );

  /** In the view of a relation's objects: the relation it shows. */
  const viewedRelation = filters.find((f) => f.op === 'relatedTo' && f.owner)?.owner;

  const onGridReady = useCallback((e: GridReadyEvent) => {
    apiRef.current = e.api;
    window.__dashboardGrid = e.api;
  }, []);

  useEffect(
    () => () => {
      if (window.__dashboardGrid === apiRef.current) delete window.__dashboardGrid;
      apiRef.current = null;
    },
    [],
  );

  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;

  /** Remembers the columns' order and hidden ones as the grid has them now, and the widths the
   *  user has just given (`resized`, by column). */
  const persistColumns = useCallback(
    (resized: Record<string, number> = {}) => {
      const api = apiRef.current;
      if (!api) return;
      const state = api.getColumnState().filter((c) => c.colId !== SELECTION_COL);
      const next: ColumnPrefs = {
        order: state.map((c) => c.colId),
        hidden: state.filter((c) => c.hide).map((c) => c.colId),
        widths: { ...prefsRef.current.widths, ...resized },
      };
      savePrefs(appId, className, next);
      setPrefs(next);
    },
    [appId, className],
  );

  const onColumnMoved = useCallback(
    (e: ColumnMovedEvent) => {
      if (e.finished) persistColumns();
    },
    [persistColumns],
  );

  const onColumnResized = useCallback(
    (e: ColumnResizedEvent) => {
      // The user's own resizing only (dragging a header's edge, or double-clicking it to fit
      // the contents), once it ends: not the grid sizing columns itself.
      if (!e.finished || e.source !== 'uiColumnResized') return;
      const resized = (e.columns ?? []).filter((c) => c.getColId() !== SELECTION_COL);
      if (resized.length > 0) persistColumns(Object.fromEntries(resized.map((c) => [c.getColId(), c.getActualWidth()])));
    },
    [persistColumns],
  );

  const onCellValueChanged = useCallback(
    async (e: CellValueChangedEvent) => {
      const field = e.colDef.field;
      const row = e.data as Row | undefined;
      if (!field || !row || !e.node) return;
      const node = e.node;
      const revert = () => node.setData({ ...(node.data as Row), [field]: e.oldValue });
      let value = e.newValue as unknown;
      if ((e.oldValue === undefined || e.oldValue === null) && value === '') {
        revert();
        return;
      }
      if (value === undefined || value === null) value = { __op: 'Delete' };
      try {
        const r = await parse<{ updatedAt?: string }>(appId, 'PUT', `classes/${encodeURIComponent(className)}/${encodeURIComponent(row.objectId)}`, {
          [field]: value,
        });
        clear();
        const data = { ...(node.data as Row) };
        if (e.newValue === undefined || e.newValue === null) delete data[field];
        if (r.updatedAt) data.updatedAt = r.updatedAt;
        node.setData(data);
      } catch (err) {
        revert();
        showError(err);
      }
    },
    [appId, className, clear, showError],
  );

  const refresh = () => {
    apiRef.current?.deselectAll();
    apiRef.current?.refreshInfiniteCache();
  };

  /** A new, empty object; in a relation's view it is also added to that relation (as Parse
   *  Dashboard does), so that it is one of the view's rows. */
  const addRow = async () => {
    const owner = viewedRelation;
    let created: { objectId?: string };
    try {
      created = await parse<{ objectId?: string }>(appId, 'POST', `classes/${encodeURIComponent(className)}`, {});
    } catch (e) {
      showError(e);
      return;
    }
    clear();
    if (owner && created.objectId) {
      try {
        await parse(appId, 'PUT', `classes/${encodeURIComponent(owner.className)}/${encodeURIComponent(owner.objectId)}`, {
          [owner.key]: { __op: 'AddRelation', objects: [{ __type: 'Pointer', className, objectId: created.objectId }] },
        });
      } catch (e) {
        showError(
          `${className} ${created.objectId} was created but not added to the relation ${owner.key} of ` +
            `${owner.className} ${owner.objectId}: ${errorMessage(e)}`,
        );
      }
    }
    const api = apiRef.current;
    if (api) {
      api.purgeInfiniteCache();
      api.ensureIndexVisible(0, 'top');
    }
  };

  const fieldNames = orderedFieldNames(schema, { ...prefs, hidden: [] });

  const toggleColumn = (name: string, visible: boolean) => {
    apiRef.current?.setColumnsVisible([name], visible);
    persistColumns();
  };

  return (
    <div className="class-view">
      <div className="toolbar" role="toolbar" aria-label={`${className} actions`}>
        <h1 className="class-title">{className}</h1>
        <span className="row-count" data-testid="row-count" aria-live="polite">
          {count === null ? 'Counting…' : describeCount(count.count, count.estimated)}
        </span>
        {count?.estimated && (
          <button
            type="button"
            className="btn small"
            data-testid="count-exactly"
            onClick={() => {
              exactRequested.current = true;
              setCount(null);
              countRows({});
            }}
          >
            Count exactly
          </button>
        )}
        <span className="spacer" />
        {!readOnly && viewedRelation && (
          <button
            type="button"
            className="btn small"
            onClick={() => {
              relationChanged.current = false;
              setRelation({ owner: viewedRelation, targetClass: className });
            }}
            data-testid="relation-edit-owner"
          >
            Edit relation
          </button>
        )}
        <button type="button" className="btn small" onClick={refresh} data-testid="refresh">
          Refresh
        </button>
        {!readOnly && (
          <>
            <button
              type="button"
              className="btn small primary"
              onClick={addRow}
              title={viewedRelation ? `A new ${className}, added to ${viewedRelation.className} ${viewedRelation.objectId}'s ${viewedRelation.key}` : undefined}
              data-testid="add-row"
            >
              Add row
            </button>
            <button type="button" className="btn small" onClick={() => setDialog('deleteRows')} disabled={selected === 0} data-testid="delete-rows">
              Delete {selected > 0 ? `${selected} ` : ''}selected
            </button>
            <button type="button" className="btn small" onClick={() => setDialog('addColumn')} data-testid="add-column">
              Add column
            </button>
            <button type="button" className="btn small" onClick={() => setDialog('deleteColumn')} data-testid="delete-column">
              Delete column
            </button>
          </>
        )}
        <div className="menu-wrap">
          <button
            type="button"
            className="btn small"
            aria-expanded={columnsOpen}
            aria-haspopup="true"
            onClick={() => setColumnsOpen(!columnsOpen)}
            data-testid="columns-menu"
          >
            Columns
          </button>
          {columnsOpen && (
            <div
              className="menu"
              role="group"
              aria-label="Shown columns"
              onKeyDown={(e) => e.key === 'Escape' && setColumnsOpen(false)}
            >
              {fieldNames.map((n) => (
                <label key={n} className="check">
                  <input
                    type="checkbox"
                    checked={!prefs.hidden.includes(n)}
                    onChange={(e) => toggleColumn(n, e.target.checked)}
                    data-testid={`column-toggle-${n}`}
                  />
                  {n}
                </label>
              ))}
              <button type="button" className="btn small" onClick={() => setColumnsOpen(false)}>
                Done
              </button>
            </div>
          )}
        </div>
        {!readOnly && (
          <button type="button" className="btn small danger" onClick={() => setDialog('deleteClass')} data-testid="delete-class">
            Delete class
          </button>
        )}
      </div>
      <FilterBar schema={schema} filters={filters} setFilters={props.setFilters} />
      <div className="grid-wrap">
        <AgGridReact
          theme={theme}
          rowModelType="infinite"
          rowHeight={36}
          headerHeight={44}
          datasource={datasource}
          cacheBlockSize={BLOCK_SIZE}
          maxBlocksInCache={100}
          blockLoadDebounceMillis={30}
          maxConcurrentDatasourceRequests={2}
          getRowId={(p: GetRowIdParams) => String((p.data as Row).objectId)}
          columnDefs={columnDefs}
          defaultColDef={{ resizable: true }}
          maintainColumnOrder
          context={context}
          rowSelection={{ mode: 'multiRow', checkboxes: true, headerCheckbox: false, enableClickSelection: false }}
          onSelectionChanged={(e) => setSelected(e.api.getSelectedNodes().length)}
          onGridReady={onGridReady}
          onCellValueChanged={onCellValueChanged}
          onCellKeyDown={onCellKeyDown}
          onColumnMoved={onColumnMoved}
          onColumnResized={onColumnResized}
          onColumnVisible={() => persistColumns()}
          stopEditingWhenCellsLoseFocus
          suppressDragLeaveHidesColumns
          suppressColumnVirtualisation
          suppressNoRowsOverlay
          tooltipShowDelay={500}
        />
        {loading && (
          <div className="grid-status loading" data-testid="grid-loading">
            Loading…
          </div>
        )}
        {!loading && count?.count === 0 && (
          <div className="grid-status empty" data-testid="empty-state">
            {filters.length > 0 ? 'No rows match these filters.' : `${className} has no rows yet.`}
          </div>
        )}
      </div>
      {relation && (
        <RelationDialog
          appId={appId}
          owner={relation.owner}
          targetClass={relation.targetClass}
          targetSchema={props.schemas.find((s) => s.className === relation.targetClass)}
          onChanged={() => {
            relationChanged.current = true;
          }}
          onClose={() => {
            setRelation(null);
            // The rows shown (the owner's updatedAt, or the relation's objects) are refetched.
            if (relationChanged.current) refresh();
          }}
        />
      )}
      {dialog && (
        <ClassDialogs
          kind={dialog}
          appId={appId}
          schema={schema}
          schemas={props.schemas}
          selectedIds={() =>
            (apiRef.current?.getSelectedNodes() ?? [])
              .map((n) => (n.data as Row | undefined)?.objectId ?? n.id)
              .filter((id): id is string => !!id)
          }
          onClose={() => setDialog(null)}
          onRowsDeleted={() => {
            apiRef.current?.deselectAll();
            apiRef.current?.purgeInfiniteCache();
          }}
          onSchemaChanged={props.onSchemaChanged}
          onClassDeleted={props.onClassDeleted}
        />
      )}
    </div>
  );
}
