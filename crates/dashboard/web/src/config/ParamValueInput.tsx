import { DATE_INPUT_STEP } from '../dates';
import type { ParamType } from './params';

interface ParamValueInputProps {
  type: ParamType;
  /** The text edited (see params.ts: valueToText and parseValue). */
  text: string;
  onChange: (text: string) => void;
  id: string;
  testId: string;
}

/** The editor that fits a parameter's type: a Date in local time to the millisecond, an
 *  Object or Array as JSON. */
export function ParamValueInput({ type, text, onChange, id, testId }: ParamValueInputProps) {
  const common = { id, value: text, 'data-testid': testId };
  switch (type) {
    case 'Boolean':
      return (
        <select {...common} onChange={(e) => onChange(e.target.value)}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      );
    case 'Date':
      return <input {...common} type="datetime-local" step={DATE_INPUT_STEP} onChange={(e) => onChange(e.target.value)} />;
    case 'Number':
      return <input {...common} inputMode="decimal" autoComplete="off" placeholder="0" onChange={(e) => onChange(e.target.value)} />;
    case 'Object':
    case 'Array':
      return (
        <textarea
          {...common}
          rows={5}
          spellCheck={false}
          placeholder={type === 'Array' ? '["a", "b"]' : '{"key": "value"}'}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    case 'String':
      return <input {...common} autoComplete="off" onChange={(e) => onChange(e.target.value)} />;
  }
}
