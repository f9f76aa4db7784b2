import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { folderSource } from '../../src/project/project-source.js';
import { scheduleBlocks, viewSchedules } from '../../src/schedules/schedule-view.js';
import { sharedPath } from '../helpers/shared-paths.js';

const CORPUS = sharedPath('meltano-corpus');
const projects = readdirSync(CORPUS).filter((d) => statSync(join(CORPUS, d)).isDirectory());
const NOW = new Date('2024-05-01T10:20:30Z');

describe('the schedules of the Meltano corpus', () => {
  describe.each(projects)('%s', (name) => {
    it('reads every schedule, with what it runs and a next run after now', () => {
      const project = loadProject(folderSource(join(CORPUS, name)));
      const views = viewSchedules(project, NOW);
      expect(views.map((v) => v.name)).toEqual(project.schedules.map((s) => s.name));
      for (const view of views) {
        if (view.status === 'invalid') throw view.errors[0];
        expect(view.nextRun?.getTime(), view.name).toBeGreaterThan(NOW.getTime());
      }
      for (const schedule of project.schedules) expect(scheduleBlocks(schedule).length).toBeGreaterThan(0);
    });
  });

  it('computes the next runs of the cron expressions the projects use', () => {
    const next = (project: string) =>
      Object.fromEntries(
        viewSchedules(loadProject(folderSource(join(CORPUS, project))), NOW).map((v) => [
          v.name,
          v.status === 'valid' ? v.nextRun?.toISOString() : v.status,
        ]),
      );
    // '*/23 13-22 * * 1-5': 2024-05-01 is a Wednesday; 10:20 is before 13:00.
    expect(next('AutoIDM__prodder_public')).toEqual({
      twice_an_hour_during_business_hours: '2024-05-01T13:00:00.000Z',
    });
    expect(next('EJOOSTEROP__mimodast')).toEqual({ 'USGS-Earthquake': '2024-05-01T10:35:00.000Z' });
    expect(next('GaloyMoney__lana-bank')).toEqual({
      'sync-sumsub-on-minute': '2024-05-01T10:30:00.000Z',
      'drop-old-relations-weekly': '2024-05-05T00:00:00.000Z',
      'generate-es-reports-daily': '2024-05-02T00:00:00.000Z',
    });
    expect(next('MTES-MCT__trackdechets-meltano-workspace')).toMatchObject({
      'daily-elt-gerico': '2024-05-01T12:00:00.000Z',
      'monthly-transform-insee': '2024-05-01T20:00:00.000Z',
    });
    const multifile = loadProject(folderSource(join(CORPUS, 'meltano__meltano__multifile_project')));
    expect(multifile.schedules.map((s) => scheduleBlocks(s))).toEqual([
      ['tap-meltano-yml', 'target-meltano-yml'],
      ['tap-subconfig-2-yml', 'target-subconfig-2-yml'],
      ['tap-subconfig-1-yml', 'target-subconfig-1-yml'],
    ]);
  });
});
