import { useState, type FormEvent } from 'react';
import type { ClassSchema } from '../api';
import { filterLabel, OPS, type Filter, type FilterOp } from './filters';
import { visibleFieldNames } from './columns';
import { Options } from '../components/Options';
import { DATE_INPUT_STEP } from '../dates';

export function FilterBar({
  schema,
  filters,
  setFilters,
}: {
  schema: ClassSchema;
  filters: Filter[];
  setFilters: (f: Filter[]) => void;
}) {
  const fields = visibleFieldNames(schema).filter((n) => schema.fields[n].type !== 'Relation');
  const [open, setOpen] = useState(false);
  const [field, setField] = useState(fields[0] ?? 'objectId');
  const [op, setOp] = useState<FilterOp>('eq');
  const [value, setValue] = useState('');
  const type = schema.fields[field]?.type ?? 'String';
  const needsValue = OPS.find((o) => o.op === op)?.needsValue ?? true;

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const f: Filter = needsValue ? { field, op, value } : { field, op };
    setFilters([...filters, f]);
    setValue('');
    setOpen(false);
  };

  const valueInput = () => {
    if (!needsValue) return null;
    const common = { 'aria-label': 'Value', 'data-testid': 'filter-value', value, onChange: (e: { target: { value: string } }) => setValue(e.target.value) };
    if (op === 'in') return <input {...common} placeholder="a, b, c" />;
    switch (type) {
      case 'Boolean':
        return (
          <select {...common}>
            <option value="">choose…</option>
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        );
      case 'Number':
        return <input {...common} inputMode="decimal" placeholder="number" />;
      case 'Date':
        return <input {...common} type="datetime-local" step={DATE_INPUT_STEP} />;
      case 'Pointer':
        return <input {...common} placeholder={`objectId of a ${schema.fields[field]?.targetClass ?? 'object'}`} />;
      default:
        return <input {...common} placeholder="value" />;
    }
  };

  return (
    <div className="filter-bar">
      <ul className="chips" aria-label="Filters">
        {filters.map((f, i) => (
          <li key={i} className="chip" data-testid="filter-chip">
            <span>{filterLabel(f)}</span>
            <button
              type="button"
              className="chip-remove"
              aria-label={`Remove filter ${filterLabel(f)}`}
              onClick={() => setFilters(filters.filter((_, j) => j !== i))}
              data-testid="filter-remove"
            />
          </li>
        ))}
      </ul>
      {filters.length > 1 && (
        <button type="button" className="btn small link" onClick={() => setFilters([])} data-testid="filter-clear">
          Clear filters
        </button>
      )}
      {!open ? (
        <button type="button" className="btn small" onClick={() => setOpen(true)} data-testid="add-filter">
          Add filter
        </button>
      ) : (
        <form className="filter-form" onSubmit={apply} onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          <select
            aria-label="Field"
            value={field}
            onChange={(e) => {
              setField(e.target.value);
              setValue('');
            }}
            data-testid="filter-field"
            autoFocus
          >
            <Options values={fields} />
          </select>
          <select aria-label="Condition" value={op} onChange={(e) => setOp(e.target.value as FilterOp)} data-testid="filter-op">
            {OPS.map((o) => (
              <option key={o.op} value={o.op}>
                {o.label}
              </option>
            ))}
          </select>
          {valueInput()}
          <button type="submit" className="btn small primary" data-testid="filter-apply">
            Apply
          </button>
          <button type="button" className="btn small" onClick={() => setOpen(false)} data-testid="filter-cancel">
            Cancel
          </button>
        </form>
      )}
    </div>
  );
}
