import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitStatements } from '../src/index.js';

describe('splitting a migration into statements', () => {
  it('when statements end lines with semicolons, then each becomes one statement and comments are dropped', () => {
    const sql = '-- header\nCREATE TABLE a (x INT);\n\nINSERT INTO a VALUES (1);  \n-- trailing\n';

    assert.deepEqual(splitStatements(sql), ['CREATE TABLE a (x INT)', 'INSERT INTO a VALUES (1)']);
  });

  it('when a semicolon is inside a line, then it does not split the statement', () => {
    assert.deepEqual(splitStatements("INSERT INTO a VALUES ('x;y');"), [
      "INSERT INTO a VALUES ('x;y')",
    ]);
  });
});
